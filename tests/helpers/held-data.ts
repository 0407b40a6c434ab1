/**
 * A data directory holding two batches of deletions held by the mass-delete guard, made with the
 * real database: another device writes 40 Books and 30 Notes, then deletes 30 Books and 25 Notes;
 * `dir` learned the documents an hour before the deletions arrived (a pinned clock), so both
 * batches are held there. Start a node on it afterwards (the held state is on disk).
 */
import assert from 'node:assert/strict'
import { Database } from '../../main/db/database.ts'
import { tempDir } from './tmp.ts'

export const HELD_SDL = 'type Books { title: String! } type Notes { text: String! }'

export async function heldDataDir(t: Parameters<typeof tempDir>[0], dir: string): Promise<void> {
  const author = await Database.open(await tempDir(t))
  await author.addCollections(HELD_SDL)
  const books = await author.createDocuments('Books', Array.from({ length: 40 }, (_, i) => ({ title: `book ${i}` })))
  const notes = await author.createDocuments('Notes', Array.from({ length: 30 }, (_, i) => ({ text: `note ${i}` })))
  for (const id of books.slice(0, 30)) await author.deleteDocument('Books', id)
  for (const id of notes.slice(0, 25)) await author.deleteDocument('Notes', id)
  const creates: Array<{ bytes: Uint8Array }> = []
  const deletes: Array<{ bytes: Uint8Array }> = []
  for (const [c, ids] of [['Books', books], ['Notes', notes]] as const) {
    for (const id of ids) for (const e of await author.history(c, id)) (e.height === 1 ? creates : deletes).push({ bytes: (await author.getBlock(e.cid))! })
  }
  await author.close()
  let now = Date.now() - 3_600_000
  const db = await Database.open(dir, { now: () => now })
  await db.addCollections(HELD_SDL)
  await db.applyBlocks(creates)
  now = Date.now()
  await db.applyBlocks(deletes)
  assert.equal(db.heldBatches().length, 2)
  await db.close()
}
