import type { Handlers } from '../context.ts'
import type { HistoryNode } from '../../../shared/api/index.ts'
import { importedAuthorName } from '../../db/backup/import-car.ts'

type DocCalls = 'documents.create' | 'documents.createMany' | 'documents.get' | 'documents.update' | 'documents.delete'
  | 'documents.restore' | 'documents.list' | 'documents.history'

export const documents: Handlers<DocCalls> = {
  'documents.create': async ({ node }, { collection, doc }) => ({ docID: await node.db.createDocument(collection, doc) }),
  'documents.createMany': async ({ node }, { collection, docs }) => ({ docIDs: await node.db.createDocuments(collection, docs) }),
  'documents.get': ({ node }, { collection, docID }) => node.db.getDocument(collection, docID),
  'documents.update': ({ node }, { collection, docID, patch }) => node.db.updateDocument(collection, docID, patch),
  'documents.delete': ({ node }, { collection, docID }) => node.db.deleteDocument(collection, docID),
  'documents.restore': ({ node }, { collection, docID }) => node.db.restoreDocument(collection, docID),
  'documents.list': ({ node }, { collection, ...query }) => node.db.listDocuments(collection, query),
  'documents.history': async ({ node }, { collection, docID }) => {
    const entries = await node.db.history(collection, docID)
    // Devices of no group here but named by a backup this device imported (--trust-authors).
    const imported = new Map<string, string | undefined>()
    for (const e of entries) {
      if (e.author !== node.deviceID && node.group.get(e.author) === undefined && !imported.has(e.author)) imported.set(e.author, await importedAuthorName(node.db, e.author))
    }
    return entries.map((e): HistoryNode => {
      const name = e.author === node.deviceID ? node.group.name : node.group.get(e.author)?.name ?? imported.get(e.author)
      return {
        cid: e.cid, device: e.author, ...(name !== undefined ? { deviceName: name } : {}), time: e.time, height: e.height,
        links: e.parents, changed: e.fields, ...(e.deleted !== undefined ? { deleted: e.deleted } : {}),
      }
    })
  },
}
