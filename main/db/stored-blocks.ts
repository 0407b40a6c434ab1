/**
 * Blocks into and out of the store: written lean where that is shorter (lean-block.ts), read back
 * whole for the reads that hand a block on (sync, backups). Reads of the content alone take the
 * stored value as it is (block.ts `decodeStoredBlock`, `blockLinks`).
 */
import { LRUCache } from 'lru-cache'
import { TandemError } from '../../shared/errors.ts'
import type { EncodedBlock } from './block.ts'
import { fullForm, leanForm, newTree, sameSignature, treeKey, treeKeyOf, MIN_LEAN_STEPS, type SigTree } from './lean-block.ts'
import type { Store, Txn } from './store.ts'

/**
 * A batch is stored lean only when a transaction writes at least this many of its blocks and its
 * tree is not stored yet. Blocks that come by sync arrive in CID order, which mixes every batch:
 * adding each to a tree stored before would rewrite that tree (~4 KiB) for every ~470-byte block,
 * and a tree for a block or two is no shorter than the blocks kept whole.
 */
export const LEAN_MIN_BLOCKS = 8

/** Per transaction: how many of the blocks it is about to put each batch's tree has (`prefetchTrees`). */
const planned = new WeakMap<Txn, Map<string, number>>()

/** Puts a verified block into `txn`: lean when it is part of a signed batch, else whole. */
export async function putBlock(store: Store, txn: Txn, enc: EncodedBlock): Promise<void> {
  txn.put(store.blocks, enc.id, await storedForm(store, txn, enc))
}

/**
 * Before blocks are put: counts them per batch, and reads at once whether their trees are stored
 * (one multi-read, not one read per batch). Without it a block is kept whole unless its tree is
 * this transaction's own already.
 *
 * `signedHere`: the blocks were just signed on this device, so each batch's signature is new and
 * its tree is all but certainly not stored. The few reads (one per 64 blocks) are made on the event
 * loop: a bulk create of 1000 waited 1–2 ms a call for a hasMany that always answered "absent". They
 * are still made, because a tree is keyed by 12 bytes of its signature, and a stored tree that
 * shared them must not be replaced (its blocks would lose their proofs).
 */
export async function prefetchTrees(store: Store, txn: Txn, blocks: ReadonlyArray<{ block: EncodedBlock['block'] }>, signedHere = false): Promise<void> {
  let counts = planned.get(txn)
  if (counts === undefined) planned.set(txn, counts = new Map())
  for (const { block } of blocks) {
    if (block.sig === undefined || block.sig.p.length < MIN_LEAN_STEPS * 32) continue
    const key = keyOf(block.sig.s)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  const keys = [...counts].filter(([, n]) => n >= LEAN_MIN_BLOCKS).map(([k]) => k)
  if (keys.length > 0) await txn.prefetchHas(store.trees, keys, signedHere)
}

/** The value a verified block is stored as (adding its proof to its tree in `txn`). */
export async function storedForm(store: Store, txn: Txn, enc: { bytes: Uint8Array; block: EncodedBlock['block'] }): Promise<Uint8Array> {
  const known = storedFormNow(store, txn, enc)
  if (known !== null) return known
  // Whether the batch's tree is stored was not read ahead (prefetchTrees): read it now.
  const sig = enc.block.sig!
  const key = keyOf(sig.s)
  return (await txn.has(store.trees, key)) ? enc.bytes : leanInto(store, txn, enc, key, newTree(sig.s))
}

/** Puts a verified block into `txn` when that needs no read (see storedFormNow); false when it does. */
export function putBlockNow(store: Store, txn: Txn, enc: EncodedBlock): boolean {
  const value = storedFormNow(store, txn, enc)
  if (value === null) return false
  txn.put(store.blocks, enc.id, value)
  return true
}

/**
 * `storedForm` without a read: null when it would have to read whether the batch's tree is stored
 * (not read ahead, and not this transaction's own).
 */
function storedFormNow(store: Store, txn: Txn, enc: { bytes: Uint8Array; block: EncodedBlock['block'] }): Uint8Array | null {
  const sig = enc.block.sig
  if (sig === undefined || sig.p.length < MIN_LEAN_STEPS * 32) return enc.bytes
  const key = keyOf(sig.s)
  // The blocks of a batch come one after another: the tree is then this transaction's own.
  let tree = txn.ownPut(store.trees, key)
  if (tree === undefined) {
    if ((planned.get(txn)?.get(key) ?? 0) < LEAN_MIN_BLOCKS) return enc.bytes
    const stored = txn.knownHas(store.trees, key)
    if (stored === undefined) return null
    if (stored) return enc.bytes
    tree = newTree(sig.s)
  } else if (!sameSignature(tree, sig.s)) {
    return enc.bytes
  }
  return leanInto(store, txn, enc, key, tree)
}

/** The block's lean form, its proof added to `tree` (put into `txn`); the block whole when it would not come back whole. */
function leanInto(store: Store, txn: Txn, enc: { bytes: Uint8Array; block: EncodedBlock['block'] }, key: string, tree: SigTree): Uint8Array {
  const sig = enc.block.sig!
  const lean = leanForm(enc.bytes, sig, tree)
  if (lean === null) return enc.bytes
  // The tree object stays in the transaction and is encoded when it commits, with every node the
  // transaction's blocks added to it.
  txn.put(store.trees, key, tree)
  return lean
}

/**
 * Bytes of signature trees kept between reads: ~8k batches of 64 (4 KiB each), half a million
 * documents' worth. Sync reads blocks in CID order, which mixes every batch: a cache that held fewer
 * trees than a store has read the same trees again for each request (measured: 10–20 µs more a
 * block with 512 trees for a 50k-document store, ~2.5 µs when all fit).
 */
const TREE_CACHE_BYTES = 32 * 1024 * 1024

// The last signature's tree key: the blocks of a batch share one signature (the same array, when
// written here), so most blocks need no new key string.
let lastS: Uint8Array | null = null
let lastKey = ''
function keyOf(s: Uint8Array): string {
  if (s !== lastS) {
    const key = treeKey(s)
    lastS = s
    lastKey = key
  }
  return lastKey
}

/** Reads stored blocks whole, with the trees they name cached. */
export class BlockReader {
  readonly #store: Store
  readonly #trees: LRUCache<string, SigTree>

  /**
   * `cached`: how many trees to keep between reads, at most TREE_CACHE_BYTES of them (a read of
   * blocks from more trees still reads them all).
   */
  constructor(store: Store, cached = 1 << 16) {
    this.#store = store
    this.#trees = new LRUCache<string, SigTree>({ max: cached, maxSize: TREE_CACHE_BYTES, sizeCalculation: (t) => 64 + t.count * 32 })
  }

  /** The whole blocks of stored values (undefined stays undefined). */
  async whole(values: ReadonlyArray<Uint8Array | undefined>): Promise<Array<Uint8Array | undefined>> {
    const out = new Array<Uint8Array | undefined>(values.length)
    const retry: number[] = []
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (v === undefined) continue
      const key = treeKeyOf(v)
      const full = fullForm(v, key === undefined ? undefined : this.#trees.get(key))
      if (full === null) retry.push(i)
      else out[i] = full
    }
    if (retry.length === 0) return out
    // Trees not cached yet: read them (a stored tree never changes).
    // Kept in a map of their own for this read: it may need more of them than the cache holds.
    const keys = [...new Set(retry.map((i) => treeKeyOf(values[i]!)!))]
    const read = await this.#store.trees.getMany(keys)
    const trees = new Map<string, SigTree>()
    keys.forEach((k, j) => { const t = read[j]; if (t !== undefined) { trees.set(k, t); this.#trees.set(k, t) } })
    for (const i of retry) {
      const full = fullForm(values[i]!, trees.get(treeKeyOf(values[i]!)!))
      if (full === null) {
        throw new TandemError('DATA_DIR_INVALID', `A stored block names a batch signature the store does not hold (trees record ${treeKeyOf(values[i]!)!}): the data directory is damaged. Restore it from a backup, or sync it again from another device.`)
      }
      out[i] = full
    }
    return out
  }

  async one(value: Uint8Array | undefined): Promise<Uint8Array | undefined> {
    return value === undefined ? undefined : (await this.whole([value]))[0]
  }
}
