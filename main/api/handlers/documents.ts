import type { Handlers } from '../context.ts'
import type { HistoryNode, SyncStatusReport } from '../../../shared/api/index.ts'
import type { DeviceID, DocumentView, ListResult } from '../../../shared/types.ts'
import type { TandemNode } from '../../node/tandem-node.ts'
import { importedAuthorName } from '../../db/backup/import-car.ts'

type DocCalls = 'documents.create' | 'documents.createMany' | 'documents.get' | 'documents.update' | 'documents.delete'
  | 'documents.restore' | 'documents.list' | 'documents.history' | 'documents.resolve' | 'documents.increment'

function deviceName(node: TandemNode, device: DeviceID): string | undefined {
  return device === node.deviceID ? node.group.name : node.group.get(device)?.name
}

/** Names the devices of a document's conflicting values. */
function named(node: TandemNode, v: DocumentView): DocumentView {
  for (const c of [...Object.values(v.conflicts ?? {}).flat(), ...Object.values(v.conflictWinners ?? {})]) {
    const n = deviceName(node, c.device)
    if (n !== undefined) c.deviceName = n
  }
  return v
}

function namedList(node: TandemNode, r: ListResult): ListResult {
  for (const d of r.docs) named(node, d)
  return r
}

/** The sync status with how many documents of each collection have conflicting edits. */
export async function withConflictCounts(node: TandemNode, report: SyncStatusReport): Promise<SyncStatusReport> {
  const out: NonNullable<SyncStatusReport['summary']['conflicts']> = []
  for (const c of await node.db.listCollections()) {
    const docs = await node.db.conflictCount(c.id)
    if (docs > 0) out.push({ collection: c.id, name: c.name, docs })
  }
  if (out.length > 0) report.summary.conflicts = out
  return report
}

export const documents: Handlers<DocCalls> = {
  'documents.create': async ({ node }, { collection, doc }) => ({ docID: await node.db.createDocument(collection, doc) }),
  'documents.createMany': async ({ node }, { collection, docs }) => ({ docIDs: await node.db.createDocuments(collection, docs) }),
  'documents.get': async ({ node }, { collection, docID }) => named(node, await node.db.getDocument(collection, docID)),
  'documents.update': async ({ node }, { collection, docID, patch }) => named(node, await node.db.updateDocument(collection, docID, patch)),
  'documents.delete': async ({ node }, { collection, docID }) => named(node, await node.db.deleteDocument(collection, docID)),
  'documents.restore': async ({ node }, { collection, docID }) => named(node, await node.db.restoreDocument(collection, docID)),
  'documents.list': async ({ node }, { collection, ...query }) => namedList(node, await node.db.listDocuments(collection, query)),
  'documents.increment': async ({ node }, { collection, docID, field, amount }) => named(node, await node.db.incrementDocument(collection, docID, field, amount)),
  'documents.resolve': async ({ node }, { collection, docID, field, pick }) => named(node, await node.db.resolveConflict(collection, docID, field, pick)),
  'documents.history': async ({ node }, { collection, docID }) => {
    const entries = await node.db.history(collection, docID)
    // Devices of no group here but named by a backup this device imported (--trust-authors).
    const imported = new Map<string, string | undefined>()
    for (const e of entries) {
      if (e.author !== node.deviceID && node.group.get(e.author) === undefined && !imported.has(e.author)) imported.set(e.author, await importedAuthorName(node.db, e.author))
    }
    return entries.map((e): HistoryNode => {
      const name = deviceName(node, e.author) ?? imported.get(e.author)
      return {
        cid: e.cid, device: e.author, ...(name !== undefined ? { deviceName: name } : {}), time: e.time, height: e.height,
        links: e.parents, changed: e.fields, ...(e.deleted !== undefined ? { deleted: e.deleted } : {}),
      }
    })
  },
}
