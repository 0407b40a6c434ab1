/**
 * Types shared by main, preload and renderer. IDs are branded so that a docID cannot be passed where
 * a collection ID is expected.
 */
type Brand<T, B extends string> = T & { readonly __brand: B }

/** `bae-` + the CID of the document's genesis block. */
export type DocID = Brand<string, 'DocID'>
/** The CID string of a collection's canonical schema (name + fields). */
export type CollectionID = Brand<string, 'CollectionID'>
/** A libp2p peer ID string (derived from the device's Ed25519 key). */
export type DeviceID = Brand<string, 'DeviceID'>
/** A block CID string (CIDv1, dag-cbor, sha2-256, base32). */
export type BlockCID = Brand<string, 'BlockCID'>

export const SCALARS = ['String', 'Int', 'Float', 'Boolean', 'DateTime', 'JSON'] as const
export type Scalar = (typeof SCALARS)[number]

export interface FieldSchema {
  name: string
  type: Scalar
  /** `[T]` in SDL. */
  list: boolean
  /** `T!` (or `[T]!`): the field must always hold a value. */
  required: boolean
  /** `[T!]`: list items may not be null. */
  itemRequired: boolean
}

export interface CollectionSchema {
  name: string
  /** Sorted by name: the canonical order, so field order in SDL does not change the ID. */
  fields: FieldSchema[]
}

export interface CollectionInfo {
  id: CollectionID
  name: string
  schema: CollectionSchema
  /** The SDL that defined it, as the person wrote it. */
  sdl: string
  /** Live (not deleted) documents. */
  count: number
  createdAt: number
  /** Only some documents are kept here (replicated one by one from another device). */
  partial?: boolean
}

export type FieldValue = unknown
export type Fields = Record<string, FieldValue>

export interface DocumentView {
  docID: DocID
  collection: CollectionID
  /** Every schema field; null where unset. */
  fields: Fields
  deleted: boolean
  heads: BlockCID[]
  createdAt: number
  updatedAt: number
  /**
   * Another device deleted this document in a mass delete that the guard holds: it reads as alive
   * (`deleted` false) until the batch is released or rejected (sync.held / release / reject).
   */
  held?: { batch: string; since: number }
}

export interface HistoryEntry {
  cid: BlockCID
  author: DeviceID
  /** Wall-clock time the author wrote it (display only; the merge never looks at it). */
  time: number
  height: number
  parents: BlockCID[]
  /** Fields this change set (the reserved `_deleted` shows as `deleted`). */
  fields: Fields
  deleted?: boolean
}

export type FilterOp = '_eq' | '_ne' | '_gt' | '_gte' | '_lt' | '_lte' | '_in' | '_nin'
export type FieldFilter = FieldValue | Partial<Record<FilterOp, FieldValue>>
export interface ListQuery {
  filter?: Record<string, FieldFilter>
  /** A field name; `-field` for descending. Ties break by docID. */
  sort?: string
  limit?: number
  offset?: number
  /** List deleted documents (the trash) instead of live ones. */
  deleted?: boolean
}
export interface ListResult {
  total: number
  docs: DocumentView[]
}

export type ApplyStatus = 'applied' | 'pending' | 'duplicate' | 'rejected'
export interface ApplyResult {
  cid: BlockCID | null
  status: ApplyStatus
  /** Why a block was rejected, in words. */
  reason?: string
}
