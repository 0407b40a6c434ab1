import type { Handlers } from '../context.ts'
import type { HistoryNode } from '../../../shared/api/index.ts'

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
    return entries.map((e): HistoryNode => {
      const name = e.author === node.deviceID ? node.group.name : node.group.get(e.author)?.name
      return {
        cid: e.cid, device: e.author, ...(name !== undefined ? { deviceName: name } : {}), time: e.time, height: e.height,
        links: e.parents, changed: e.fields, ...(e.deleted !== undefined ? { deleted: e.deleted } : {}),
      }
    })
  },
}
