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
/**
 * A schema version's ID: the CID of its canonical description (collection, parent versions, name,
 * fields). A collection's first version has the collection's own ID.
 */
export type VersionID = Brand<string, 'VersionID'>

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
  /** `@default(value: …)`: what documents that never set the field read, and what a new one gets. */
  default?: FieldValue
  /**
   * `@crdt(type: pncounter)` (or `pcounter`: no decrements) on an Int or Float: a counter. Its value
   * is the value the document was created with (a document written before the field was added: its
   * default) plus every increment in its DAG, so concurrent increments add up; it changes only by
   * `documents.increment`.
   */
  crdt?: CounterKind
}

export type CounterKind = 'pncounter' | 'pcounter'

export interface CollectionSchema {
  name: string
  /** Sorted by name: the canonical order, so field order in SDL does not change the ID. */
  fields: FieldSchema[]
}

export interface CollectionInfo {
  id: CollectionID
  name: string
  /** Documents with conflicting edits (collections.list; absent elsewhere). */
  conflictedDocs?: number
  schema: CollectionSchema
  /** The SDL that defined it, as the person wrote it. */
  sdl: string
  /** Live (not deleted) documents. */
  count: number
  createdAt: number
  /** Only some documents are kept here (replicated one by one from another device). */
  partial?: boolean
  /** The version new documents are written under (its schema is `schema`, the merge of every version known). */
  version: VersionID
  /** How many versions are known here. */
  versionCount: number
  /** Every version known, oldest first (collections.get / describe only). */
  versions?: VersionInfo[]
  /** Fields concurrent versions disagree on, and which one won (see README, Schema versions). */
  conflicts?: SchemaConflict[]
}

/** One version of a collection's schema. */
export interface VersionInfo {
  id: VersionID
  /** The versions it was made from: none for the first, two or more for a merge of concurrent ones. */
  parents: VersionID[]
  fields: FieldSchema[]
  /** The device that made it (absent for a merge, which every device derives alike). */
  author?: DeviceID
  /** When it was made (as the maker's clock said; display only). */
  time: number
  /** What changed against what its author knew: `added rating: Int`, `removed pages`, … */
  changes: string[]
  merge: boolean
}

/** Two concurrent versions changed a field incompatibly: `winner`'s shape holds, the other's values are kept but not shown as the field. */
export interface SchemaConflict {
  field: string
  winner: VersionID
  losers: VersionID[]
  message: string
}

export type FieldValue = unknown
export type Fields = Record<string, FieldValue>

/** A losing value of a field in conflict: what the block `cid` set, on which device, when. */
export interface ConflictValue {
  value: unknown
  device: DeviceID
  deviceName?: string
  /** Wall-clock time the author wrote it (display only). */
  time: number
  cid: BlockCID
  /** For a `_deleted` conflict: the fields the concurrent edit set. */
  fields?: Fields
}

export interface DocumentView {
  docID: DocID
  collection: CollectionID
  /** Every schema field; null (or the field's default) where unset. */
  fields: Fields
  /**
   * Concurrent edits: field → the losing values of its concurrent maximal writes (the winner is in
   * `fields`). Absent when there are none. `_deleted`: the edits concurrent with the delete that
   * keeps the document deleted (value false, with the fields each set), or a concurrent restore.
   */
  conflicts?: Record<string, ConflictValue[]>
  /** For each field in `conflicts`: the winning write (its value is the one in `fields`), to show beside them. */
  conflictWinners?: Record<string, ConflictValue>
  /**
   * Values that do not fit their field's current type because a concurrent schema version that lost
   * the field wrote them (see SchemaConflict): kept in the blocks, shown here, not in `fields`.
   */
  typeConflicts?: Fields
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
  /** Only documents with conflicts. */
  conflicts?: boolean
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
