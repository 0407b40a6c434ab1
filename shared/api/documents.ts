/** Documents of a collection. Field values are checked against the collection's schema by the node. */
import { z } from 'zod'
import type { DocID, DocumentView, ListResult } from '../types.ts'
import { call, CollectionInput, DocIDInput } from './define.ts'
import type { HistoryNode } from './types.ts'

/** A bulk create larger than this is refused (the database's own limit). */
export const MAX_BULK_DOCS = 100_000

const Fields = z.record(z.string().max(256), z.unknown())
const Ref = { collection: CollectionInput, docID: DocIDInput }

export const ListInput = z.object({
  collection: CollectionInput,
  /** `{field: value}` or `{field: {_eq|_ne|_gt|_gte|_lt|_lte|_in|_nin: value}}`, all must hold. */
  filter: z.record(z.string().max(256), z.unknown()).optional(),
  /** A field name; `-field` for descending. Ties break by docID. */
  sort: z.string().regex(/^-?[A-Za-z_][A-Za-z0-9_]*$/, 'a field name, or -field for descending').optional(),
  limit: z.number().int().min(0).max(MAX_BULK_DOCS).optional(),
  offset: z.number().int().min(0).optional(),
  /** List deleted documents (the trash) instead of live ones. */
  deleted: z.boolean().optional(),
  /** Only documents with conflicts (`total` counts them). */
  conflicts: z.boolean().optional(),
}).strict()

export const documentCalls = {
  'documents.create': call<{ docID: DocID }>()('Create one document.',
    z.object({ collection: CollectionInput, doc: Fields }).strict()),
  /** All or nothing: one invalid document and none are written. */
  'documents.createMany': call<{ docIDs: DocID[] }>()('Create many documents in one atomic write.',
    z.object({ collection: CollectionInput, docs: z.array(Fields).min(1).max(MAX_BULK_DOCS) }).strict()),
  'documents.get': call<DocumentView>()('One document by docID.', z.object(Ref).strict()),
  /** A patch: only the fields given change; null unsets a field that is not required. */
  'documents.update': call<DocumentView>()('Change some fields of a document.',
    z.object({ ...Ref, patch: Fields }).strict()),
  'documents.delete': call<DocumentView>()('Delete a document (it can be restored).', z.object(Ref).strict()),
  'documents.restore': call<DocumentView>()('Restore a deleted document.', z.object(Ref).strict()),
  'documents.list': call<ListResult>()('Documents matching a filter, sorted, one page at a time, with the total.', ListInput),
  /**
   * Settles a field's conflict: writes the chosen value (`pick`: a losing write's CID from
   * `conflicts`, or "winner") as a new change on top of every concurrent write. `_deleted`: the
   * winner deletes again, an edit's CID restores.
   */
  'documents.resolve': call<DocumentView>()('Settle a conflicting field by keeping one of its values.',
    z.object({ ...Ref, field: z.string().min(1).max(256), pick: z.string().min(1).max(256) }).strict()),
  /**
   * Adds `amount` to a counter field (`@crdt(type: pncounter|pcounter)`); negative decrements a
   * pncounter. Concurrent increments on any devices add up.
   */
  'documents.increment': call<DocumentView>()('Add to a counter field.',
    z.object({ ...Ref, field: z.string().min(1).max(256), amount: z.number().finite() }).strict()),
  /** Every change of the document as a DAG node, oldest first (parents before children). */
  'documents.history': call<HistoryNode[]>()('The change DAG of a document.', z.object(Ref).strict()),
}
