/**
 * One LevelDB per data directory, split by key prefix into sublevels (README "Storage" lists them). All
 * writes go through a `Txn`: reads see the transaction's own writes, and `commit` is one atomic
 * `batch()`, so a crash leaves the state before or after a change, never between.
 */
import { ClassicLevel } from 'classic-level'
import type { AbstractSublevel } from 'abstract-level'
import { TandemError } from '../../shared/errors.ts'
import type { CollectionID } from '../../shared/types.ts'
import type { DocRecord } from './crdt.ts'
import { bucketKey, bucketOf } from './digest.ts'
import { recordEncoding } from './record-codec.ts'
import { treeEncoding, type SigTree } from './lean-block.ts'

type Sub<V> = AbstractSublevel<ClassicLevel<string, unknown>, string | Buffer | Uint8Array, string, V>

export interface StoredCollection {
  id: CollectionID
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

/** A key range that holds nothing: every key of the store starts with "!" (a sublevel's prefix). */
const UNUSED_KEYS = { start: '\x00', end: '\x01' }
/** LevelDB's write buffer for the store (see `Store.open`); the benchmarks' raw limits use the same. */
export const WRITE_BUFFER_BYTES = 16 * 1024 * 1024
/**
 * A transaction reads this many keys or fewer on the event loop (LevelDB's `getSync`: the memtable
 * or the block cache, a few µs) instead of by a round trip to the thread pool. An edit's handful of
 * reads cost 25 µs of the event loop each the asynchronous way, and a `hasMany` 116 µs (it builds a
 * LevelDB iterator and snapshot there): a fifth of a received edit's time. Larger reads stay
 * asynchronous, in one multi-read.
 */
const SYNC_READ_MAX = 4
/**
 * Bytes a scan reads from LevelDB in one call (classic-level's `highWaterMarkBytes`, for whole
 * scans: `nextv` pages and `for await` alike). Its default, 16 KiB, cut a `nextv(1000)` of
 * ~500-byte records off at ~30 of them: a scan of 100k records made ~3,000 calls to LevelDB's
 * thread pool, each queued behind the other reads and writes (a head exchange's answer took
 * 0.7 s per 12k documents while a sync was writing).
 */
export const SCAN_BYTES = 1024 * 1024
/**
 * Iterator options of a whole scan (SCAN_BYTES), to spread into a range. (`limit` is named in its
 * type only, never set: abstract-level's option types do not know highWaterMarkBytes, and TypeScript
 * takes an object that shares no property with them for a mistake.)
 */
export const WHOLE_SCAN: { readonly highWaterMarkBytes: number; readonly limit?: number } = { highWaterMarkBytes: SCAN_BYTES }
/** The store format, in `meta` (see upgrades/index.ts; upgrade.ts checks and upgrades it when the store opens). */
export const FORMAT_KEY = 'storeFormat'
/** The last upgrade of the store's format (upgrade.ts), in `meta`. */
export const LAST_UPGRADE_KEY = 'storeUpgrade'
/** The outbox's next sequence number (outbox.ts), in `meta`. */
export const OUTBOX_SEQ_KEY = 'outbox.seq'
/** Keys of `meta` that only the store itself writes: not settings (namespace.ts). */
export const OWN_META_KEYS: ReadonlySet<string> = new Set([FORMAT_KEY, LAST_UPGRADE_KEY, OUTBOX_SEQ_KEY])
const OWN_SUBLEVELS: ReadonlySet<string> = new Set(['blocks', 'docs', 'schemas', 'versions', 'counts', 'pending', 'waiting', 'digests', 'outbox', 'meta', 'held', 'trees'])

/** The sublevels. Keys of per-collection data start with the collection ID and '!', so a collection is a prefix scan. */
export class Store {
  readonly db: ClassicLevel<string, unknown>
  /**
   * CID → the block as stored: its bytes, or for a block of a signed batch its lean form, which
   * names its signature and proof in `trees` (lean-block.ts; stored-blocks.ts reads it back whole).
   */
  readonly blocks: Sub<Uint8Array>
  /** First 12 bytes of a batch signature → the signature and the proof nodes its stored blocks name (lean-block.ts). */
  readonly trees: Sub<SigTree>
  /**
   * `collectionID!docID` → materialized document (values, winners, heads). Stored under
   * `collectionID!bucket!docID` (the key encoding adds the bucket), so that `docsByBucket` can scan
   * one bucket of a collection; callers use the plain key.
   */
  readonly docs: Sub<DocRecord>
  /** The same records by their stored keys, `collectionID!bucket!docID` → stored text (record-codec.ts; bucket scans). */
  readonly docsByBucket: Sub<string>
  /** collectionID → schema (its first version: the collection ID is that schema's CID). */
  readonly schemas: Sub<StoredCollection>
  /** `collectionID!versionID` → a schema version (versions.ts), the first one included. */
  readonly versions: Sub<import('./versions.ts').SchemaVersion>
  /** collectionID → number of live documents. */
  readonly counts: Sub<number>
  /** CID → bytes of a block whose ancestors have not all arrived. */
  readonly pending: Sub<Uint8Array>
  /** `missingCID!pendingCID` → '' : which pending blocks wait for which missing block. */
  readonly waiting: Sub<string>
  /** `collectionID!bucket` → that bucket's digest of document heads (see digest.ts). */
  readonly digests: Sub<Uint8Array>
  /** deviceID → a device of this person's group (see main/net/group.ts); the `devices` namespace. */
  readonly devices: Sub<unknown>
  /** replicator ID → standing order "push these collections/documents to that device"; the `replicators` namespace. */
  readonly replicators: Sub<unknown>
  /** `q!targetDeviceID!seq` → block CID still to push to that device; `n!target` → how many (outbox.ts). */
  readonly outbox: Sub<string | number>
  /** Node settings (format version, group secret, …). */
  readonly meta: Sub<unknown>
  /** Deletions held by the mass-delete guard: `b!batchID` → batch, `d!collectionID!docID` → held delete (see held.ts). */
  readonly held: Sub<unknown>

  private constructor(db: ClassicLevel<string, unknown>) {
    this.db = db
    const json = { valueEncoding: 'json' as const }
    const view = { valueEncoding: 'view' as const }
    this.blocks = db.sublevel<string, Uint8Array>('blocks', view)
    this.trees = db.sublevel<string, SigTree>('trees', { valueEncoding: treeEncoding })
    this.docs = db.sublevel<string, DocRecord>('docs', { keyEncoding: docKeyEncoding, valueEncoding: recordEncoding })
    this.docsByBucket = db.sublevel<string, string>('docs', { valueEncoding: 'utf8' })
    this.schemas = db.sublevel<string, StoredCollection>('schemas', json)
    this.versions = db.sublevel<string, import('./versions.ts').SchemaVersion>('versions', json)
    this.counts = db.sublevel<string, number>('counts', json)
    this.pending = db.sublevel<string, Uint8Array>('pending', view)
    this.waiting = db.sublevel<string, string>('waiting', { valueEncoding: 'utf8' })
    this.digests = db.sublevel<string, Uint8Array>('digests', view)
    this.devices = db.sublevel<string, unknown>('devices', json)
    this.replicators = db.sublevel<string, unknown>('replicators', json)
    this.outbox = db.sublevel<string, string | number>('outbox', json)
    this.meta = db.sublevel<string, unknown>('meta', json)
    this.held = db.sublevel<string, unknown>('held', json)
    this.#named.set('devices', this.devices)
    this.#named.set('replicators', this.replicators)
  }

  // The sublevels handed out as namespaces (namespace.ts), by name.
  readonly #named = new Map<string, Sub<unknown>>()

  /**
   * The sublevel of a namespace (JSON values): `devices` and `replicators` are the ones above, any
   * other name gets a sublevel of its own. The store's own sublevels are not namespaces.
   */
  namespace(name: string): Sub<unknown> {
    let sub = this.#named.get(name)
    if (sub !== undefined) return sub
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(name) || OWN_SUBLEVELS.has(name)) throw new Error(`"${name}" cannot name a namespace`)
    sub = this.db.sublevel<string, unknown>(name, { valueEncoding: 'json' })
    this.#named.set(name, sub)
    return sub
  }

  /**
   * Opens the LevelDB at `path` as it is. The database opens it through `openStore` (upgrade.ts),
   * which checks its format and upgrades an older one.
   */
  static async open(path: string): Promise<Store> {
    // A 16 MiB write buffer (LevelDB's default is 4 MiB): a bulk create writes ~1.3 KB a document
    // (block, record, digests), so the default memtable filled every ~3k documents and each flush
    // started compactions that competed with the writes; 50k-document creates measured 20–30% more
    // documents/s with it here. It costs memory only as it fills (up to twice this during a flush),
    // and changes nothing about durability: every commit is still one atomic batch in the log.
    const db = new ClassicLevel<string, unknown>(path, { valueEncoding: 'json', writeBufferSize: WRITE_BUFFER_BYTES })
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

  // Committed values of the keys that transactions update blindly (digests, counts), so a commit
  // need not read them again: a single write otherwise waited on two reads. Digests and counts are
  // written only through Txn (xor, add), which keeps this in step after every commit.
  readonly #folded = new Map<object, Map<string, unknown>>()
  static readonly MAX_FOLDED = 1 << 16

  /** The committed values known for a blind-updated sublevel (read-only for callers). */
  folded(sub: object): Map<string, unknown> {
    let known = this.#folded.get(sub)
    if (known === undefined) this.#folded.set(sub, known = new Map())
    return known
  }

  /** Takes note of what a transaction committed to the blind-updated sublevels. */
  remember(overlay: Map<object, Map<string, unknown>>): void {
    for (const [sub, known] of this.#folded) {
      const layer = overlay.get(sub)
      if (layer === undefined) continue
      if (known.size + layer.size > Store.MAX_FOLDED) known.clear()
      for (const [key, value] of layer) known.set(key, value)
    }
  }

  /** Forgets the committed values kept for blind updates (after writes that bypassed `Txn`: an upgrade step's raw batches). */
  forget(): void {
    this.#folded.clear()
  }

  /**
   * Closes the store. First LevelDB writes what its log holds to a table (compacting a key range
   * nobody uses flushes the memtable, and compacts nothing else): opened next time, it replays
   * nothing. The log of a store closed after bulk writes holds up to a write buffer (16 MiB), whose
   * replay was ~70 ms of every open (W5, 1M documents: LevelDB's open 110 ms → 35). A store that
   * crashed still replays its log, as before; a flush that fails leaves the log for the next open.
   */
  async close(): Promise<void> {
    if (this.db.status === 'open') await this.db.compactRange(UNUSED_KEYS.start, UNUSED_KEYS.end).catch(() => {})
    await this.db.close()
  }
}

/**
 * The key encoding of `Store.docs`: `collectionID!docID` is stored as `collectionID!bucket!docID`
 * (bucket: two hex digits, digest.ts). Range bounds with an empty docID or one starting with \xff
 * (`C!`, `C!\xff`: a whole collection) stay as they are, and bracket every bucket.
 */
export const docKeyEncoding = {
  name: 'tandem-doc-key',
  format: 'utf8' as const,
  encode(key: string): string {
    const at = key.indexOf('!')
    if (at < 0 || at + 1 >= key.length || key.charCodeAt(at + 1) === 0xff) return key
    const docID = key.slice(at + 1)
    return `${key.slice(0, at + 1)}${bucketKey(bucketOf(docID))}!${docID}`
  },
  decode(stored: string): string {
    const at = stored.indexOf('!')
    return at < 0 || stored.charCodeAt(at + 3) !== 0x21 ? stored : stored.slice(0, at + 1) + stored.slice(at + 4)
  },
}

interface SubEncoding {
  prefix: string
  key: ((key: string) => string) | null
  encode: (value: unknown) => unknown
  options: { valueEncoding: string }
}
const encodings = new WeakMap<object, SubEncoding>()

/** How a sublevel prefixes keys (utf8) and encodes values, taken from the sublevel itself. */
function encodingOf(sub: Sub<unknown>): SubEncoding {
  let e = encodings.get(sub)
  if (e === undefined) {
    const enc = sub.valueEncoding() as unknown as { encode: (v: unknown) => unknown; format: string }
    const keyEnc = sub.keyEncoding()
    if (keyEnc.format !== 'utf8' || !['utf8', 'view', 'buffer'].includes(enc.format)) {
      throw new Error(`sublevel ${sub.prefix}: unsupported encodings`)
    }
    const key = keyEnc.name === 'utf8' ? null : keyEnc.name === docKeyEncoding.name ? docKeyEncoding.encode : undefined
    if (key === undefined) throw new Error(`sublevel ${sub.prefix}: unsupported key encoding ${keyEnc.name}`)
    e = { prefix: sub.prefix, key, encode: (v) => enc.encode(v), options: Object.freeze({ valueEncoding: enc.format }) }
    encodings.set(sub, e)
  }
  return e
}

/**
 * A write transaction with read-your-writes over the sublevels it touches.
 *
 * Besides puts and deletes it takes two kinds of blind updates, `xor` (digests) and `add` (counters):
 * they need the stored value but nothing needs their result before the commit, so the commit reads
 * every such key at once (one getMany per sublevel) instead of one awaited get per key as blocks
 * apply. A `get` of such a key still sees them.
 */
export class Txn {
  readonly #store: Store
  // sublevel → key → value (undefined = deleted in this transaction)
  #overlay = new Map<object, Map<string, unknown>>()
  // what the last commit wrote, by sublevel (for caches kept above the store)
  #written = new Map<object, Map<string, unknown>>()
  // sublevel → key → XOR still to apply to the stored bytes (or to none: zeros)
  readonly #xors = new Map<Sub<Uint8Array>, Map<string, Uint8Array>>()
  // sublevel → key → amount still to add to the stored number (or to none: 0)
  readonly #adds = new Map<Sub<number>, Map<string, number>>()
  // sublevel → key → committed value read ahead (prefetch); undefined = absent
  readonly #read = new Map<object, Map<string, unknown>>()
  // sublevel → key → committed presence read ahead (prefetchHas)
  readonly #present = new Map<object, Map<string, boolean>>()

  constructor(store: Store) {
    this.#store = store
  }

  async get<V>(sub: Sub<V>, key: string): Promise<V | undefined> {
    if (this.#xors.size + this.#adds.size > 0) await this.#settle(sub, key)
    const layer = this.#overlay.get(sub as object)
    if (layer?.has(key)) return layer.get(key) as V | undefined
    const read = this.#read.get(sub as object)
    if (read?.has(key)) return read.get(key) as V | undefined
    return sub.getSync(key) ?? undefined
  }

  /** The value this transaction put at `key` (no I/O, no blind updates: for sublevels only `put` writes), or undefined when it put none. */
  ownPut<V>(sub: Sub<V>, key: string): V | undefined {
    return this.#overlay.get(sub as object)?.get(key) as V | undefined
  }

  async has<V>(sub: Sub<V>, key: string): Promise<boolean> {
    if (this.#xors.size + this.#adds.size > 0) await this.#settle(sub, key)
    const layer = this.#overlay.get(sub as object)
    if (layer?.has(key)) return layer.get(key) !== undefined
    const read = this.#read.get(sub as object)
    if (read?.has(key)) return read.get(key) !== undefined
    const present = this.#present.get(sub as object)?.get(key)
    if (present !== undefined) return present
    return sub.getSync(key) !== undefined
  }

  /**
   * Reads the stored values of `keys` at once (one getMany), so that the `get`s and `has`es that
   * follow in this transaction need no I/O each. Only for sublevels that are not blind-updated (not
   * `xor`/`add`), and only while no other transaction can commit (the database's write lock): the
   * values read are the committed ones, and this transaction's own writes still come first.
   */
  async prefetch<V>(sub: Sub<V>, keys: readonly string[]): Promise<void> {
    let read = this.#read.get(sub as object)
    if (read === undefined) this.#read.set(sub as object, read = new Map())
    const layer = this.#overlay.get(sub as object)
    const unread = [...new Set(keys)].filter((k) => !read.has(k) && !(layer?.has(k) ?? false))
    if (unread.length === 0) return
    const values = unread.length <= SYNC_READ_MAX ? unread.map((k) => sub.getSync(k)) : await sub.getMany(unread)
    for (let i = 0; i < unread.length; i++) read.set(unread[i]!, values[i] ?? undefined)
  }

  /**
   * `prefetch` for presence only (one hasMany): later `has` calls need no I/O. Not for `get`.
   * `now`: read each key on the event loop however many there are (a few keys that are expected to
   * be absent: each such read is a few µs, where the round trip of a hasMany is a millisecond or more).
   */
  async prefetchHas<V>(sub: Sub<V>, keys: readonly string[], now = false): Promise<void> {
    let known = this.#present.get(sub as object)
    if (known === undefined) this.#present.set(sub as object, known = new Map())
    const layer = this.#overlay.get(sub as object)
    const read = this.#read.get(sub as object)
    const unread = [...new Set(keys)].filter((k) => !known.has(k) && !(layer?.has(k) ?? false) && !(read?.has(k) ?? false))
    if (unread.length === 0) return
    const found = now || unread.length <= SYNC_READ_MAX ? unread.map((k) => sub.getSync(k) !== undefined) : await sub.hasMany(unread)
    for (let i = 0; i < unread.length; i++) known.set(unread[i]!, found[i]!)
  }

  /** Presence of a key from this transaction's writes and prefetches, or undefined when unknown without I/O. */
  knownHas<V>(sub: Sub<V>, key: string): boolean | undefined {
    const layer = this.#overlay.get(sub as object)
    if (layer?.has(key)) return layer.get(key) !== undefined
    const read = this.#read.get(sub as object)
    if (read?.has(key)) return read.get(key) !== undefined
    return this.#present.get(sub as object)?.get(key)
  }

  /** XORs `hash` (as many bytes as the stored value, given as a latin1 string) into the value at `key`. */
  xor(sub: Sub<Uint8Array>, key: string, hash: string): void {
    let layer = this.#xors.get(sub)
    if (layer === undefined) this.#xors.set(sub, layer = new Map())
    let acc = layer.get(key)
    if (acc === undefined) layer.set(key, acc = new Uint8Array(hash.length))
    for (let i = 0; i < hash.length; i++) acc[i]! ^= hash.charCodeAt(i)
  }

  /** Adds `n` to the number at `key` (0 when there is none). */
  add(sub: Sub<number>, key: string, n: number): void {
    let layer = this.#adds.get(sub)
    if (layer === undefined) this.#adds.set(sub, layer = new Map())
    layer.set(key, (layer.get(key) ?? 0) + n)
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

  /** Folds the blind updates of one key into the overlay (for a read of that key). */
  async #settle(sub: object, key: string): Promise<void> {
    const xors = this.#xors.get(sub as Sub<Uint8Array>)
    const acc = xors?.get(key)
    if (xors !== undefined && acc !== undefined) {
      xors.delete(key)
      await this.#fold(sub as Sub<Uint8Array>, [key], [acc], xorBytes)
    }
    const adds = this.#adds.get(sub as Sub<number>)
    const n = adds?.get(key)
    if (adds !== undefined && n !== undefined) {
      adds.delete(key)
      await this.#fold(sub as Sub<number>, [key], [n], (v, d) => (v ?? 0) + d)
    }
  }

  /** Puts `combine(current value, delta)` for each key, reading the keys not in the overlay at once. */
  async #fold<V, D>(sub: Sub<V>, keys: string[], deltas: D[], combine: (value: V | undefined, delta: D) => V): Promise<void> {
    const layer = this.#layer(sub)
    const known = this.#store.folded(sub)
    const read = new Map<string, V | undefined>()
    const unread: string[] = []
    for (const k of keys) {
      if (layer.has(k)) continue
      if (known.has(k)) read.set(k, known.get(k) as V | undefined)
      else unread.push(k)
    }
    const stored = unread.length === 0 ? [] : await sub.getMany(unread)
    unread.forEach((k, i) => read.set(k, stored[i] ?? undefined))
    keys.forEach((k, i) => {
      const current = layer.has(k) ? layer.get(k) as V | undefined : read.get(k)
      layer.set(k, combine(current, deltas[i]!))
    })
  }

  async commit(): Promise<void> {
    const folds: Array<Promise<void>> = []
    for (const [sub, layer] of this.#xors) folds.push(this.#fold(sub, [...layer.keys()], [...layer.values()], xorBytes))
    for (const [sub, layer] of this.#adds) folds.push(this.#fold(sub, [...layer.keys()], [...layer.values()], (v, d) => (v ?? 0) + d))
    this.#xors.clear()
    this.#adds.clear()
    await Promise.all(folds)
    if (this.#overlay.size === 0) return
    // One chained batch on the root, with keys prefixed and values encoded here as the sublevels
    // would (utf8 strings and byte views, which classic-level takes as they are). An array batch
    // costs more per op: abstract-level copies each op, and the native side reads each property
    // by name.
    const batch = this.#store.db.batch()
    try {
      for (const [sublevel, layer] of this.#overlay) {
        const { prefix, key: encodeKey, encode, options } = encodingOf(sublevel as Sub<unknown>)
        for (const [key, value] of layer) {
          const stored = prefix + (encodeKey === null ? key : encodeKey(key))
          if (value === undefined) batch.del(stored)
          else batch.put(stored, encode(value), options as never)
        }
      }
    } catch (err) {
      await batch.close()
      throw err
    }
    await batch.write()
    this.#store.remember(this.#overlay)
    this.#written = this.#overlay
    this.#overlay = new Map()
  }

  /** What the last `commit` wrote to a sublevel (key → value, undefined = deleted), if anything. */
  written<V>(sub: Sub<V>): ReadonlyMap<string, V | undefined> | undefined {
    return this.#written.get(sub as object) as ReadonlyMap<string, V | undefined> | undefined
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

/** `delta` XOR the stored bytes (zeros when none), as a new array. */
function xorBytes(value: Uint8Array | undefined, delta: Uint8Array): Uint8Array {
  const out = new Uint8Array(delta.length)
  for (let i = 0; i < delta.length; i++) out[i] = delta[i]! ^ (value?.[i] ?? 0)
  return out
}

export type { Sub }
