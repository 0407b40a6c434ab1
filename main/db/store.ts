/**
 * One LevelDB per data directory, split by key prefix (sublevels) as DESIGN.md §3 lays out. All
 * writes go through a `Txn`: reads see the transaction's own writes, and `commit` is one atomic
 * `batch()`, so a crash leaves the state before or after a change, never between.
 */
import { ClassicLevel } from 'classic-level'
import type { AbstractSublevel } from 'abstract-level'
import { TandemError } from '../../shared/errors.ts'
import type { DocRecord } from './crdt.ts'

type Sub<V> = AbstractSublevel<ClassicLevel<string, unknown>, string | Buffer | Uint8Array, string, V>

export interface StoredCollection {
  id: string
  name: string
  schema: import('../../shared/types.ts').CollectionSchema
  sdl: string
  createdAt: number
  /**
   * Learned from a device that replicates single documents of it here: only those documents are
   * kept, so head exchange and the collection topic leave it alone.
   */
  partial?: boolean
}

/** The sublevels. Keys of per-collection data start with the collection ID and '!', so a collection is a prefix scan. */
export class Store {
  readonly db: ClassicLevel<string, unknown>
  /** CID → block bytes. */
  readonly blocks: Sub<Uint8Array>
  /** `collectionID!docID` → materialized document (values, winners, heads). */
  readonly docs: Sub<DocRecord>
  /** collectionID → schema. */
  readonly schemas: Sub<StoredCollection>
  /** collectionID → number of live documents. */
  readonly counts: Sub<number>
  /** CID → bytes of a block whose ancestors have not all arrived. */
  readonly pending: Sub<Uint8Array>
  /** `missingCID!pendingCID` → '' : which pending blocks wait for which missing block. */
  readonly waiting: Sub<string>
  /** `collectionID!bucket` → that bucket's digest of document heads (see digest.ts). */
  readonly digests: Sub<Uint8Array>
  /** `collectionID!bucket!docID` → heads: a bucket of a collection is a prefix scan (head exchange). */
  readonly heads: Sub<string[]>
  /** deviceID → a device of this person's group (see main/net/group.ts). */
  readonly devices: Sub<unknown>
  /** replicator ID → standing order "push these collections/documents to that device". */
  readonly replicators: Sub<unknown>
  /** `targetDeviceID!seq` → block CID still to push to that device; `#count!target` → how many. */
  readonly outbox: Sub<unknown>
  /** Node settings (format version, group secret, …). */
  readonly meta: Sub<unknown>

  private constructor(db: ClassicLevel<string, unknown>) {
    this.db = db
    const json = { valueEncoding: 'json' as const }
    const view = { valueEncoding: 'view' as const }
    this.blocks = db.sublevel<string, Uint8Array>('blocks', view)
    this.docs = db.sublevel<string, DocRecord>('docs', json)
    this.schemas = db.sublevel<string, StoredCollection>('schemas', json)
    this.counts = db.sublevel<string, number>('counts', json)
    this.pending = db.sublevel<string, Uint8Array>('pending', view)
    this.waiting = db.sublevel<string, string>('waiting', { valueEncoding: 'utf8' })
    this.digests = db.sublevel<string, Uint8Array>('digests', view)
    this.heads = db.sublevel<string, string[]>('heads', json)
    this.devices = db.sublevel<string, unknown>('devices', json)
    this.replicators = db.sublevel<string, unknown>('replicators', json)
    this.outbox = db.sublevel<string, unknown>('outbox', json)
    this.meta = db.sublevel<string, unknown>('meta', json)
  }

  static async open(path: string): Promise<Store> {
    const db = new ClassicLevel<string, unknown>(path, { valueEncoding: 'json' })
    try {
      await db.open()
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new TandemError('DATA_DIR_LOCKED', `The data directory is in use by another running Tandem node (${path}).`)
      }
      throw new TandemError('DATA_DIR_INVALID', `The database at ${path} cannot be opened: ${cause?.message ?? (err as Error).message}`)
    }
    return new Store(db)
  }

  txn(): Txn {
    return new Txn(this)
  }

  async close(): Promise<void> {
    await this.db.close()
  }
}

type Op = { type: 'put'; sublevel: Sub<never>; key: string; value: unknown } | { type: 'del'; sublevel: Sub<never>; key: string }

/** A write transaction with read-your-writes over the sublevels it touches. */
export class Txn {
  readonly #store: Store
  // sublevel → key → value (undefined = deleted in this transaction)
  readonly #overlay = new Map<object, Map<string, unknown>>()

  constructor(store: Store) {
    this.#store = store
  }

  async get<V>(sub: Sub<V>, key: string): Promise<V | undefined> {
    const layer = this.#overlay.get(sub as object)
    if (layer?.has(key)) return layer.get(key) as V | undefined
    return (await sub.get(key)) ?? undefined
  }

  async has<V>(sub: Sub<V>, key: string): Promise<boolean> {
    const layer = this.#overlay.get(sub as object)
    if (layer?.has(key)) return layer.get(key) !== undefined
    return (await sub.has(key))
  }

  put<V>(sub: Sub<V>, key: string, value: V): void {
    this.#layer(sub).set(key, value)
  }

  del<V>(sub: Sub<V>, key: string): void {
    this.#layer(sub).set(key, undefined)
  }

  /** Keys this transaction put (not deleted) in a sublevel under a prefix. */
  keysWritten<V>(sub: Sub<V>, prefix: string): string[] {
    const layer = this.#overlay.get(sub as object)
    if (layer === undefined) return []
    return [...layer].filter(([k, v]) => v !== undefined && k.startsWith(prefix)).map(([k]) => k)
  }

  /** True when this transaction has put a value for the key. */
  isWritten<V>(sub: Sub<V>, key: string): boolean {
    const layer = this.#overlay.get(sub as object)
    return layer !== undefined && layer.get(key) !== undefined
  }

  isDeleted<V>(sub: Sub<V>, key: string): boolean {
    const layer = this.#overlay.get(sub as object)
    return layer !== undefined && layer.has(key) && layer.get(key) === undefined
  }

  get size(): number {
    let n = 0
    for (const layer of this.#overlay.values()) n += layer.size
    return n
  }

  async commit(): Promise<void> {
    const ops: Op[] = []
    for (const [sublevel, layer] of this.#overlay) {
      for (const [key, value] of layer) {
        const sub = sublevel as Sub<never>
        ops.push(value === undefined ? { type: 'del', sublevel: sub, key } : { type: 'put', sublevel: sub, key, value })
      }
    }
    if (ops.length > 0) await this.#store.db.batch(ops as never)
    this.#overlay.clear()
  }

  #layer<V>(sub: Sub<V>): Map<string, unknown> {
    let layer = this.#overlay.get(sub as object)
    if (layer === undefined) {
      layer = new Map()
      this.#overlay.set(sub as object, layer)
    }
    return layer
  }
}

export type { Sub }
