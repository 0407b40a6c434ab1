/** The chaos node's control protocol (JSON lines; see ./fixtures/chaos-node.ts) and the collection it writes. */

export const COLLECTION = 'Books'
export const SDL = 'type Books { title: String! pages: Int tags: [String] read: Boolean body: String }'
/** Fields schema ops add (each name has one type everywhere: concurrent additions merge, never conflict). */
export const EXTRA_FIELDS = ['rating: Int', 'isbn: String @default(value: "none")', 'owned: Boolean']

export interface WriteResult { docID: string; cid: string; height: number }
export interface Status {
  /** Collection ID → hex digest of its heads. */
  digests: Record<string, string>
  pending: number
  /** The collection's current schema version here (equal everywhere once schemas converged). */
  version: string
  /** Outbox entries not yet acked, over every replicator of this node. */
  outbox: number
  connected: string[]
  syncing: boolean
}

export interface Commands {
  setup: { args: Record<string, never>; result: null }
  groupSecret: { args: Record<string, never>; result: string }
  setSecret: { args: { secret: string }; result: null }
  groupAdd: { args: { deviceID: string; addrs: string[] }; result: null }
  create: { args: { fields: Record<string, unknown> }; result: WriteResult }
  update: { args: { docID: string; patch: Record<string, unknown> }; result: WriteResult }
  delete: { args: { docID: string }; result: WriteResult }
  restore: { args: { docID: string }; result: WriteResult }
  deny: { args: { peer: string }; result: null }
  allow: { args: { peer: string; addr: string }; result: null }
  /** Replaces the denied set (after a restart that raced partitions and heals); dials `addrs` of peers no longer denied. */
  setDenied: { args: { peers: string[]; addrs: string[] }; result: null }
  /** Dials each address now (heal: no waiting for the redial backoff). */
  connect: { args: { addrs: string[] }; result: null }
  /** Adds EXTRA_FIELDS[field] to the collection's schema here (a new version), if it is not there. */
  schema: { args: { field: number }; result: null }
  repSet: { args: { target: string }; result: null }
  repRemove: { args: { target: string }; result: null }
  status: { args: Record<string, never>; result: Status }
  /** Documents in a collection here (0 when it is not here yet). */
  count: { args: { collection: string }; result: number }
  stop: { args: Record<string, never>; result: null }
}
export type Command = keyof Commands

export type Reply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { message: string; code?: string } }
export interface ReadyEvent { event: 'ready'; deviceID: string; addrs: string[] }

