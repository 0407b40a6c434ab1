/**
 * Applying verified blocks inside a transaction: causal completeness (a block waits in the persisted
 * pending set until every block it links is present), per-document checks against its parents, and
 * the materialized record. Shared by local writes and blocks from other devices, so both follow the
 * same rules.
 */
import { CID } from 'multiformats/cid'
import { LRUCache } from 'lru-cache'
import { TandemError } from '../../shared/errors.ts'
import type { BlockCID, CollectionID, DeviceID, DocID } from '../../shared/types.ts'
import { putBlock, putBlockNow } from './stored-blocks.ts'
import { blockDocID, decodeStoredBlock, DELETED_FIELD, type EncodedBlock } from './block.ts'
import { applyToRecord, maximalWrites, setMaximalWrites, type Counters, type DocRecord } from './crdt.ts'
import { bucketKey, bucketOf, entryHashLatin1 } from './digest.ts'
import { cidString } from './cid.ts'
import type { Store, Txn } from './store.ts'

/** Where the blocks of a commit came from: this device, or another one (sync). */
export type ChangeOrigin = 'local' | 'remote'

export interface Applied {
  collection: CollectionID
  docID: DocID
  cid: BlockCID
  /** The device that wrote the block. */
  author: DeviceID
  before: DocRecord | undefined
  after: DocRecord
}

export function docKey(collection: string, docID: string): string {
  return `${collection}!${docID}`
}

interface BlockMeta {
  height: number
  doc: string
  collection: string
  /** The CIDs the block links (for the ancestry walk of conflicts). */
  parents: readonly string[]
}

/** At most this many blocks are remembered as not stored (a sync's plan of 1M documents holds as many CIDs itself). */
const MAX_NOT_STORED = 1 << 20

/** `writtenSince` answers for the last MAX_WRITES_KEPT commits, or MIN_WRITES_KEPT when they wrote over MAX_WRITTEN_CIDS blocks. */
const MAX_WRITES_KEPT = 64
const MIN_WRITES_KEPT = 8
const MAX_WRITTEN_CIDS = 16_384

/** Commits of up to this many blocks have them all cached (see `committed`). */
const CACHE_ALL_UP_TO = 256

/** A first block's parents (one array for all of them). */
const NO_PARENTS: readonly string[] = Object.freeze([])
/** What `waitersOf` answers for a block nothing waits for (shared, never changed). */
const NO_WAITERS: readonly string[] = Object.freeze([])

/** `writtenSince` when nothing was written since. */
const NOTHING_WRITTEN = { has: (): boolean => false }

/** `writtenSince` looks through the sets of up to this many commits; more are gathered into one. */
const LOOK_THROUGH_WRITES = 4

/**
 * What the apply step needs of a block's parents; cached because every child asks again. Blocks
 * applied in a transaction are staged with it and enter the cache only once it committed, so a
 * cached entry always names a stored block (blocks are never deleted).
 */
export class BlockMetaCache {
  readonly #cache = new LRUCache<string, BlockMeta>({ max: 50_000 })
  readonly #staged = new WeakMap<Txn, Map<string, BlockMeta>>()
  /**
   * Blocks (and pending blocks) each recent commit wrote, newest last, for `writtenSince`: a set
   * of each commit's CIDs, dropped whole when it leaves the window. An index of every CID by the
   * commit that wrote it cost a map write and a delete a block (~2% of a catch-up's event loop).
   */
  readonly #writes: Array<{ gen: number; cids: ReadonlySet<string> }> = []
  /** CIDs in `#writes`. */
  #writtenCount = 0
  /**
   * Blocks known not to be stored: learned by a read, or by planning a sync (a document with no
   * record here has none of its blocks), and forgotten as soon as a commit stores one. Receiving
   * such a block asks LevelDB nothing to learn it is new (`hasMany`, which classic-level answers
   * by seeking an iterator, was LevelDB's largest cost in a bulk sync).
   */
  readonly #notStored = new Set<string>()
  #gen = 0

  /** The current write generation: what commits after this, `writtenSince` names. */
  generation(): number {
    return this.#gen
  }

  /**
   * CIDs of the blocks and pending blocks committed since generation `gen`, or null when too many
   * commits happened since to say (then the caller reads the store). Lets a batch checked before it
   * took the write lock skip asking the store again whether its blocks arrived meanwhile.
   */
  writtenSince(gen: number): { has(cid: string): boolean } | null {
    if (gen === this.#gen) return NOTHING_WRITTEN
    const writes = this.#writes
    if (writes.length === 0 || writes[0]!.gen > gen + 1) return null
    // Generations are consecutive: the commits since `gen` are the last `#gen - gen` kept.
    const recent = writes.slice(writes.length - (this.#gen - gen)).map((w) => w.cids)
    if (recent.length === 1) return recent[0]!
    if (recent.length <= LOOK_THROUGH_WRITES) return { has: (cid) => recent.some((w) => w.has(cid)) }
    // Many commits since (small ones, or a check that waited long): gathered once, so that each
    // of the caller's CIDs is one lookup.
    const all = new Set<string>()
    for (const w of recent) for (const cid of w) all.add(cid)
    return all
  }

  /**
   * Notes that these blocks were not stored as of generation `gen` (taken before the read that
   * learned it). What a commit since then wrote is left out, and all of it when too much was
   * committed since to tell: a fact learned before a commit may be stale after it.
   */
  noteNotStored(cids: readonly string[], gen: number): void {
    const since = this.writtenSince(gen)
    if (since === null) return
    for (const c of cids) {
      if (this.#notStored.size >= MAX_NOT_STORED) return
      if (!since.has(c)) this.#notStored.add(c)
    }
  }

  /** True when `cid` is known not to be stored (as of the last commit noted here), without I/O. */
  isNotStored(cid: string): boolean {
    return this.#notStored.has(cid)
  }

  /** Pending blocks a commit wrote (after it committed). */
  notePending(cids: Iterable<string>): void {
    this.#note(new Set(cids))
  }

  /** `cids`: kept as it is (not copied), and never changed after. */
  #note(cids: ReadonlySet<string>): void {
    this.#writes.push({ gen: ++this.#gen, cids })
    this.#writtenCount += cids.size
    // The last 64 commits, or fewer when they are large (a bulk sync's commits of ~1400 blocks
    // each): a check lags a few commits at most.
    while (this.#writes.length > MAX_WRITES_KEPT || (this.#writtenCount > MAX_WRITTEN_CIDS && this.#writes.length > MIN_WRITES_KEPT)) {
      this.#writtenCount -= this.#writes.shift()!.cids.size
    }
  }

  async get(txn: Txn, store: Store, cid: string): Promise<BlockMeta | undefined> {
    const hit = this.#staged.get(txn)?.get(cid) ?? this.#cache.get(cid)
    if (hit !== undefined) return hit
    const bytes = await txn.get(store.blocks, cid)
    if (bytes === undefined) return undefined
    const block = decodeStoredBlock(bytes)
    const meta = { height: block.height, doc: blockDocID(block, CID.parse(cid)), collection: block.collection, parents: block.parents.map((p) => cidString(p.bytes)) }
    if (!txn.isWritten(store.blocks, cid)) this.#cache.set(cid, meta)
    return meta
  }

  /** True when `cid` is known to be stored (committed), without I/O. */
  isStored(cid: string): boolean {
    return this.#cache.has(cid)
  }

  /** Reads the blocks of the given CIDs that are not cached, at once, for the `get`s that follow. */
  async prefetch(txn: Txn, store: Store, cids: Iterable<string>): Promise<void> {
    const staged = this.#staged.get(txn)
    const unknown: string[] = []
    for (const c of cids) if (!this.#cache.has(c) && !(staged?.has(c) ?? false)) unknown.push(c)
    if (unknown.length > 0) await txn.prefetch(store.blocks, unknown)
  }

  remember(txn: Txn, cid: string, meta: BlockMeta): void {
    let staged = this.#staged.get(txn)
    if (staged === undefined) this.#staged.set(txn, staged = new Map())
    staged.set(cid, meta)
  }

  /** After `txn` committed: what it applied is stored now. */
  committed(txn: Txn): void {
    const staged = this.#staged.get(txn)
    if (staged === undefined) return
    // A large commit's first blocks of documents (a bulk create, a catch-up) are not cached: each
    // would evict another entry (~1.5 µs a block), and few get a child soon; the first edit of one
    // reads its block (one read). Every other block is: its children tend to follow.
    const all = staged.size <= CACHE_ALL_UP_TO
    const noted = this.#notStored.size > 0
    for (const [cid, meta] of staged) {
      if (all || meta.parents.length > 0) this.#cache.set(cid, meta)
      if (noted) this.#notStored.delete(cid)
    }
    this.#staged.delete(txn)
    // Its CIDs alone: the metas kept for 8–64 commits outlived the young generation, and their
    // copying cost bulk creates more than a set costs.
    this.#note(new Set(staged.keys()))
  }
}

/**
 * Which blocks are pending, and which of them wait for which missing block: the keys of the
 * `pending` and `waiting` sublevels, mirrored in memory so that applying a block costs no read to
 * learn that nothing waits for it, and receiving one no read to learn whether it is already pending
 * (the usual answers). Loaded at open; a transaction records its changes in a `PendingChanges` that
 * enters the index only after the commit.
 */
export class PendingIndex {
  // missing CID → pending CIDs waiting for it
  readonly #waiters = new Map<string, Set<string>>()
  // the pending blocks' CIDs
  readonly #blocks = new Set<string>()

  static async load(store: Store): Promise<PendingIndex> {
    const index = new PendingIndex()
    for await (const key of store.waiting.keys()) {
      const at = key.indexOf('!')
      if (at > 0) index.#add(key.slice(0, at), key.slice(at + 1))
    }
    for await (const cid of store.pending.keys()) index.#blocks.add(cid)
    return index
  }

  /** Whether the block `cid` is pending (as committed). */
  has(cid: string): boolean {
    return this.#blocks.has(cid)
  }

  changes(): PendingChanges {
    return new PendingChanges(this)
  }

  committedWaiters(missing: string): ReadonlySet<string> | undefined {
    return this.#waiters.get(missing)
  }

  /** After the transaction of `changes` committed. */
  apply(changes: PendingChanges): void {
    for (const [m, cids] of changes.added) for (const c of cids) this.#add(m, c)
    for (const c of changes.addedBlocks) this.#blocks.add(c)
    for (const c of changes.droppedBlocks) this.#blocks.delete(c)
    for (const key of changes.dropped) {
      const at = key.indexOf('!')
      const m = key.slice(0, at)
      const set = this.#waiters.get(m)
      if (set === undefined) continue
      set.delete(key.slice(at + 1))
      if (set.size === 0) this.#waiters.delete(m)
    }
  }

  #add(missing: string, cid: string): void {
    let set = this.#waiters.get(missing)
    if (set === undefined) this.#waiters.set(missing, set = new Set())
    set.add(cid)
  }
}

/** One transaction's changes to the pending set (written to `txn`, and to the index after commit). */
export class PendingChanges {
  readonly #index: PendingIndex
  readonly added = new Map<string, Set<string>>()
  readonly dropped = new Set<string>()
  /** Blocks this transaction made pending, and pending blocks it applied (each in one set at most). */
  readonly addedBlocks = new Set<string>()
  readonly droppedBlocks = new Set<string>()

  constructor(index: PendingIndex) {
    this.#index = index
  }

  put(store: Store, txn: Txn, enc: EncodedBlock, missing: string[]): void {
    const cid = enc.id
    txn.put(store.pending, cid, enc.bytes)
    this.addedBlocks.add(cid)
    this.droppedBlocks.delete(cid)
    for (const m of missing) {
      txn.put(store.waiting, `${m}!${cid}`, '')
      this.dropped.delete(`${m}!${cid}`)
      let set = this.added.get(m)
      if (set === undefined) this.added.set(m, set = new Set())
      set.add(cid)
    }
  }

  /** Removes a pending block and its waiting entries. */
  drop(store: Store, txn: Txn, enc: EncodedBlock): void {
    const cid = enc.id
    txn.del(store.pending, cid)
    this.droppedBlocks.add(cid)
    this.addedBlocks.delete(cid)
    // It may have waited for its parents and for its schema version (database.ts).
    for (const m of [...enc.block.parents.map((p) => cidString(p.bytes)), enc.block.schema]) {
      txn.del(store.waiting, `${m}!${cid}`)
      this.added.get(m)?.delete(cid)
      this.dropped.add(`${m}!${cid}`)
    }
  }

  /** Pending blocks that were waiting for `cid` (to be retried now that it is here). */
  waitersOf(cid: string): readonly string[] {
    const committed = this.#index.committedWaiters(cid)
    const added = this.added.get(cid)
    // Nearly every applied block has none (a bulk commit asks for each of its ~1400): no set, no array.
    if (committed === undefined && added === undefined) return NO_WAITERS
    const out = new Set<string>()
    for (const w of committed ?? []) if (!this.dropped.has(`${cid}!${w}`)) out.add(w)
    for (const w of added ?? []) out.add(w)
    return [...out]
  }
}

/**
 * Applies one block whose parents are all present. Checks that it continues its document (same
 * document and collection as its parents, height one above the highest), then writes block bytes,
 * record and live count into `txn`. Throws BLOCK_INVALID when it does not fit.
 */
export async function applyBlock(store: Store, txn: Txn, metas: BlockMetaCache, enc: EncodedBlock, counters?: Counters): Promise<Applied> {
  const { block } = enc
  const cid = enc.id
  const docID = blockDocID(block, cid)
  let maxParent = 0
  const parents: string[] = []
  for (const p of block.parents) {
    const ps = cidString(p.bytes)
    parents.push(ps)
    const meta = await metas.get(txn, store, ps)
    if (meta === undefined) throw new TandemError('BLOCK_INVALID', `invalid block: parent ${ps} is missing`)
    if (meta.doc !== docID || meta.collection !== block.collection) {
      throw new TandemError('BLOCK_INVALID', `invalid block: parent ${ps} belongs to another document`)
    }
    maxParent = Math.max(maxParent, meta.height)
  }
  if (block.height !== maxParent + 1) {
    throw new TandemError('BLOCK_INVALID', `invalid block: height ${block.height} should be ${maxParent + 1}, one above its parents`)
  }
  const collection = block.collection
  const key = docKey(collection, docID)
  // A genesis block not yet stored starts a document that cannot exist yet (its CID is the docID):
  // skip the read, which is most of the cost of a bulk create.
  const before = block.parents.length === 0 ? undefined : await txn.get(store.docs, key)
  if (before === undefined && block.parents.length > 0) {
    throw new TandemError('BLOCK_INVALID', 'invalid block: its document has no genesis here')
  }
  const after = applyToRecord(before, block, cid, counters)
  if (before !== undefined) {
    // A counter's increments add up: they are never in conflict.
    let fields = block.fields
    if (counters !== undefined && counters.size > 0) {
      fields = {}
      for (const name in block.fields) if (!counters.has(name)) fields[name] = block.fields[name]
    }
    const updates = await maximalUpdates(store, txn, metas, before, fields, parents, cid)
    if (updates !== null) setMaximalWrites(after, updates)
  }
  await putBlock(store, txn, enc)
  txn.put(store.docs, key, after)
  updateHeadIndex(store, txn, collection, docID, before?.heads, after.heads)
  metas.remember(txn, cid, { height: block.height, doc: docID, collection, parents })
  const delta = (after.deleted ? 0 : 1) - (before === undefined || before.deleted ? 0 : 1)
  if (delta !== 0) txn.add(store.counts, collection, delta)
  const conflictDelta = (after.x !== undefined ? 1 : 0) - (before?.x !== undefined ? 1 : 0)
  if (conflictDelta !== 0) txn.add(store.counts, conflictCountKey(collection), conflictDelta)
  return { collection, docID, cid, author: block.author, before, after }
}

/**
 * `applyBlock` for a document's first block (no parents) when it needs no read: it starts a
 * document that cannot exist yet (its CID is the docID), so the record is new, and its batch's
 * tree was read ahead (or is this transaction's own). Null for any other block, and when a read
 * is needed: then the caller's `applyBlock` does it. No promise, no await: a bulk create or
 * catch-up applies most of its blocks here.
 */
export function applyFirstBlockNow(store: Store, txn: Txn, metas: BlockMetaCache, enc: EncodedBlock, counters?: Counters): Applied | null {
  const { block } = enc
  if (block.parents.length !== 0) return null
  if (block.height !== 1) {
    throw new TandemError('BLOCK_INVALID', `invalid block: height ${block.height} should be 1, one above its parents`)
  }
  if (!putBlockNow(store, txn, enc)) return null
  const cid = enc.id
  const docID = blockDocID(block, cid)
  const collection = block.collection
  const after = applyToRecord(undefined, block, cid, counters)
  txn.put(store.docs, docKey(collection, docID), after)
  updateHeadIndex(store, txn, collection, docID, undefined, after.heads)
  metas.remember(txn, cid, { height: 1, doc: docID, collection, parents: NO_PARENTS })
  if (!after.deleted) txn.add(store.counts, collection, 1)
  if (after.x !== undefined) txn.add(store.counts, conflictCountKey(collection), 1)
  return { collection, docID, cid, author: block.author, before: undefined, after }
}

/** The `counts` key of how many documents of a collection have conflicts. */
export function conflictCountKey(collection: string): string {
  return `${collection}!conflicts`
}

/**
 * How a new block changes the maximal writes of the fields it sets (crdt.ts `x`), or null when
 * nothing changes. The block is new, so no stored block descends from it: for each field it sets,
 * it is maximal, and the maximal writes it has among its ancestors are superseded.
 *
 * Cost: when the block's parents are all the document's heads (every local edit, and every block
 * of a linear history arriving in order) it descends from every block, so it supersedes them all:
 * nothing is read, and nothing is written unless the record had conflicts. Only a block on a
 * concurrent branch walks its ancestors, and the walk stops below the lowest height it looks for.
 */
export async function maximalUpdates(store: Store, txn: Txn, metas: BlockMetaCache, before: DocRecord,
  fields: Record<string, unknown>, parents: readonly string[], cid: BlockCID): Promise<Map<string, BlockCID[]> | null> {
  const covers = before.heads.every((h) => parents.includes(h))
  if (covers) {
    if (before.x === undefined) return null
    const updates = new Map<string, BlockCID[]>()
    for (const name in fields) if (before.x[name] !== undefined) updates.set(name, [cid])
    return updates
  }
  // Maximal writes of the fields not among the parents: which are ancestors of the block?
  const targets = new Set<string>()
  for (const name in fields) for (const m of maximalWrites(before, name)) if (!parents.includes(m)) targets.add(m)
  const superseded = targets.size === 0 ? new Set<string>() : await ancestorsAmong(store, txn, metas, parents, targets)
  const updates = new Map<string, BlockCID[]>()
  for (const name in fields) {
    const kept = maximalWrites(before, name).filter((m) => !parents.includes(m) && !superseded.has(m))
    if (kept.length > 0 || before.x?.[name] !== undefined) updates.set(name, [...kept, cid])
  }
  return updates
}

/** Which of `targets` are ancestors of (or among) `from`: a walk back that stops below their lowest height. */
async function ancestorsAmong(store: Store, txn: Txn, metas: BlockMetaCache, from: readonly string[], targets: Set<string>): Promise<Set<string>> {
  let floor = Infinity
  for (const t of targets) floor = Math.min(floor, (await metas.get(txn, store, t))?.height ?? Infinity)
  const found = new Set<string>()
  const seen = new Set<string>(from)
  const stack = [...from]
  while (stack.length > 0 && found.size < targets.size) {
    const c = stack.pop()!
    if (targets.has(c)) found.add(c)
    const meta = await metas.get(txn, store, c)
    if (meta === undefined || meta.height <= floor) continue
    for (const p of meta.parents) if (!seen.has(p)) { seen.add(p); stack.push(p) }
  }
  return found
}

function updateHeadIndex(store: Store, txn: Txn, collection: string, docID: string, old: string[] | undefined, heads: string[]): void {
  const bk = bucketKey(bucketOf(docID))
  // The heads themselves are in the record, stored by bucket (store.ts). One small key per bucket: a single edit rewrites 32 bytes, not the whole collection's digests.
  const key = `${collection}!${bk}`
  if (old !== undefined) txn.xor(store.digests, key, entryHashLatin1(docID, old))
  txn.xor(store.digests, key, entryHashLatin1(docID, heads))
}

/** Parents of a block not yet present (neither stored nor written in this transaction). */
export async function missingParents(store: Store, txn: Txn, metas: BlockMetaCache, enc: EncodedBlock): Promise<string[]> {
  const missing: string[] = []
  for (const p of enc.block.parents) {
    const s = cidString(p.bytes)
    const known = txn.knownHas(store.blocks, s)
    if (known === true || (known === undefined && metas.isStored(s))) continue
    if (known === false || !(await txn.has(store.blocks, s))) missing.push(s)
  }
  return missing
}

export function isDelete(fields: Record<string, unknown>): boolean {
  return fields[DELETED_FIELD] === true
}
