/**
 * The replication outbox: per target device, the CIDs of blocks still to push there, in commit
 * order, with a count. Entries are appended inside the same atomic commit as the blocks they name
 * (a crash keeps both or neither), from the routes the replicators register: a route says which
 * targets get which of a commit's blocks. A target's worker `peek`s a batch, pushes it, and `ack`s
 * it once the target committed it.
 *
 * On disk (the `outbox` sublevel): `q!target!seq` → CID (seq: 13 hex digits, one counter for all
 * targets, in `meta`), `n!target` → how many entries the target has. The counter and the counts are
 * read once at open and kept in memory, updated after each commit (every write runs under the
 * database's write lock), so a commit that routes blocks reads nothing more.
 */
import type { BlockCID, DeviceID } from '../../shared/types.ts'
import type { Applied, ChangeOrigin } from './apply.ts'
import { OUTBOX_SEQ_KEY, WHOLE_SCAN, type Store, type Txn } from './store.ts'
import { storedBlockCID } from './ids.ts'

/** An entry of a target's outbox: the block to push, and its place in the queue (opaque; for `ack`). */
export interface OutboxEntry {
  readonly cid: BlockCID
  readonly at: string
}

/**
 * Which targets get which of a commit's applied blocks. Runs inside every commit that applies
 * blocks, before it is written, synchronously; what it returns is appended in that commit.
 */
export type OutboxRoute = (applied: readonly Applied[], origin: ChangeOrigin, from: DeviceID | undefined) => Iterable<readonly [target: string, cids: readonly BlockCID[]]>

export interface Outbox {
  /** Adds a route; returns the function that removes it. */
  route(fn: OutboxRoute): () => void
  /** Up to `limit` of the oldest entries of the target's outbox, oldest first. */
  peek(target: string, limit: number): Promise<OutboxEntry[]>
  /** Removes entries (from `peek`) the target has committed, and counts them off. */
  ack(target: string, entries: readonly OutboxEntry[]): Promise<void>
  /** How many entries wait for the target. */
  count(target: string): number
}

/** What a transaction did to the outbox, to note in memory once it is written. */
export interface OutboxStaged {
  seq?: number
  counts?: ReadonlyMap<string, number>
  dropped?: readonly string[]
}

const queuePrefix = (target: string): string => `q!${target}!`
const countKey = (target: string): string => `n!${target}`
const COUNT_PREFIX = 'n!'

export class StoredOutbox implements Outbox {
  readonly #store: Store
  /** The database's write lock. */
  readonly #exclusive: <T>(fn: () => Promise<T>) => Promise<T>
  readonly #routes: OutboxRoute[] = []
  readonly #counts = new Map<string, number>()
  #seq = 0

  private constructor(store: Store, exclusive: <T>(fn: () => Promise<T>) => Promise<T>) {
    this.#store = store
    this.#exclusive = exclusive
  }

  static async load(store: Store, exclusive: <T>(fn: () => Promise<T>) => Promise<T>): Promise<StoredOutbox> {
    const outbox = new StoredOutbox(store, exclusive)
    const seq = await store.meta.get(OUTBOX_SEQ_KEY)
    if (typeof seq === 'number') outbox.#seq = seq
    for await (const [key, n] of store.outbox.iterator({ gte: COUNT_PREFIX, lt: `${COUNT_PREFIX}\xff` })) {
      if (typeof n === 'number') outbox.#counts.set(key.slice(COUNT_PREFIX.length), n)
    }
    return outbox
  }

  route(fn: OutboxRoute): () => void {
    this.#routes.push(fn)
    return () => {
      const i = this.#routes.indexOf(fn)
      if (i >= 0) this.#routes.splice(i, 1)
    }
  }

  async peek(target: string, limit: number): Promise<OutboxEntry[]> {
    const prefix = queuePrefix(target)
    const out: OutboxEntry[] = []
    // In a call or two to LevelDB's thread (WHOLE_SCAN), not one per ~200 entries.
    for (const [at, cid] of await this.#store.outbox.iterator({ ...WHOLE_SCAN, gte: prefix, lt: `${prefix}\xff`, limit }).all()) {
      if (typeof cid === 'string') out.push({ cid: storedBlockCID(cid), at })
    }
    return out
  }

  async ack(target: string, entries: readonly OutboxEntry[]): Promise<void> {
    const prefix = queuePrefix(target)
    const keys = entries.map((e) => e.at).filter((at) => at.startsWith(prefix))
    await this.#exclusive(async () => {
      const txn = this.#store.txn()
      for (const key of keys) txn.del(this.#store.outbox, key)
      const n = Math.max(0, this.count(target) - keys.length)
      txn.put(this.#store.outbox, countKey(target), n)
      await txn.commit()
      this.#counts.set(target, n)
    })
  }

  count(target: string): number {
    return this.#counts.get(target) ?? 0
  }

  /** Inside a commit that applies blocks (the database only): appends to `txn` what the routes give. */
  stage(txn: Txn, applied: readonly Applied[], origin: ChangeOrigin, from: DeviceID | undefined): OutboxStaged | undefined {
    if (this.#routes.length === 0 || applied.length === 0) return undefined
    let seq = this.#seq
    const counts = new Map<string, number>()
    for (const route of this.#routes) {
      for (const [target, cids] of route(applied, origin, from)) {
        if (cids.length === 0) continue
        const prefix = queuePrefix(target)
        for (const cid of cids) txn.put(this.#store.outbox, `${prefix}${(seq++).toString(16).padStart(13, '0')}`, cid)
        counts.set(target, (counts.get(target) ?? this.count(target)) + cids.length)
      }
    }
    if (counts.size === 0) return undefined
    for (const [target, n] of counts) txn.put(this.#store.outbox, countKey(target), n)
    txn.put(this.#store.meta, OUTBOX_SEQ_KEY, seq)
    return { seq, counts }
  }

  /** Inside a transaction (the database only, under the write lock): deletes the target's entries and count. */
  async drop(txn: Txn, target: string): Promise<void> {
    const prefix = queuePrefix(target)
    for await (const key of this.#store.outbox.keys({ gte: prefix, lt: `${prefix}\xff` })) txn.del(this.#store.outbox, key)
    txn.del(this.#store.outbox, countKey(target))
  }

  /** After the transaction that staged `staged` was written. */
  committed(staged: OutboxStaged | undefined): void {
    if (staged === undefined) return
    if (staged.seq !== undefined) this.#seq = staged.seq
    for (const target of staged.dropped ?? []) this.#counts.delete(target)
    for (const [target, n] of staged.counts ?? []) this.#counts.set(target, n)
  }
}
