/** Helpers for tests that move blocks between databases the way the sync engine will. */
import { Database } from '../../main/db/database.ts'
import type { DocumentView } from '../../shared/types.ts'

export async function allBlocks(db: Database): Promise<Array<{ cid: string; bytes: Uint8Array }>> {
  const out: Array<{ cid: string; bytes: Uint8Array }> = []
  for await (const { cid, bytes } of db.allBlocks()) out.push({ cid, bytes })
  return out
}

/** Everything a person could see of a collection: live documents and the trash, in docID order. */
export async function visibleState(db: Database, collection: string): Promise<{ live: DocumentView[]; trash: DocumentView[]; count: number }> {
  const live = (await db.listDocuments(collection)).docs
  const trash = (await db.listDocuments(collection, { deleted: true })).docs
  trash.sort((a, b) => (a.docID < b.docID ? -1 : 1))
  return { live, trash, count: (await db.getCollection(collection)).count }
}
