/**
 * The merge: every field (and the reserved `_deleted`) is a last-writer-wins register ordered by
 * (height, CID bytes) of the block that set it. The materialized record is a function of the set of
 * applied blocks only — `max` is commutative, associative and idempotent — so delivery order and
 * duplicates never change the result.
 *
 * Delete vs. concurrent edit: only delete and restore blocks write `_deleted`, so a document deleted
 * on one device stays deleted when another device edited it concurrently. The edit is not lost: its
 * values merge into the fields as usual and come back if the document is restored.
 */
import type { BlockCID } from '../../shared/types.ts'
import { cidString, compareCIDStrings } from './cid.ts'
import { DELETED_FIELD, type UnsignedBlock } from './block.ts'

/** [height, CID] of the block whose write currently wins a register. */
export type Stamp = [number, BlockCID]

/** A stamp as stored: [height, index of the block's CID in the record's `c`]. */
export type StoredStamp = [number, number]

export interface DocRecord {
  /** Current value per field. */
  v: Record<string, unknown>
  /**
   * Winning stamp per field (and for `_deleted`). The CID is kept once in `c`, not once per field:
   * every field of a new document has the same stamp, and a 59-character CID per field made up a
   * third of the record.
   */
  w: Record<string, StoredStamp>
  /** The CIDs the stamps in `w` name, each once. */
  c: BlockCID[]
  /** CIDs of the blocks no other block links to. */
  heads: BlockCID[]
  /** Greatest height of any block (= of any head). */
  h: number
  deleted: boolean
  /** Time of the genesis block and the latest block applied (display only). */
  createdAt: number
  updatedAt: number
  /**
   * Conflicts: for each field (or `_deleted`) with more than one *maximal* write — blocks that set
   * it, none an ancestor of another — their CIDs, sorted. The winner (`w`) is one of them, the
   * others are its conflicts. Absent for the fields (and documents: nearly all) with one.
   */
  x?: Record<string, BlockCID[]>
}

/** True when the record has a field in conflict. */
export function hasConflicts(rec: DocRecord): boolean {
  return rec.x !== undefined
}

/**
 * The maximal writes of `name` before a new block: `x[name]` when there are several, else the
 * winning write alone (the winner is always maximal: an ancestor has a lower height).
 */
export function maximalWrites(rec: DocRecord, name: string): BlockCID[] {
  const list = rec.x?.[name]
  if (list !== undefined) return list
  const w = rec.w[name]
  return w === undefined ? [] : [rec.c[w[1]]!]
}

/** Sets the maximal writes of fields (a list of one or none clears the field's conflict). */
export function setMaximalWrites(rec: DocRecord, updates: Map<string, BlockCID[]>): void {
  if (updates.size === 0) return
  const x: Record<string, BlockCID[]> = { ...rec.x }
  for (const [name, list] of updates) {
    if (list.length > 1) x[name] = [...list].sort(compareCIDStrings)
    else delete x[name]
  }
  if (Object.keys(x).length > 0) rec.x = x
  else delete rec.x
}

export function compareStamps(a: Stamp, b: Stamp): number {
  return a[0] !== b[0] ? a[0] - b[0] : compareCIDStrings(a[1], b[1])
}

/** The winning stamp of a register, or undefined when no block has written it. */
export function stampOf(rec: DocRecord, name: string): Stamp | undefined {
  const w = rec.w[name]
  return w === undefined ? undefined : [w[0], rec.c[w[1]]!]
}

/**
 * The record after applying `block` (CID `cid`) to `prev`. The block's parents must all have been
 * applied already (causal completeness), so none of the existing blocks links to it and it becomes
 * a head, replacing the parents it links.
 */
export function applyToRecord(prev: DocRecord | undefined, block: UnsignedBlock, cid: BlockCID, counters?: Counters): DocRecord {
  if (prev === undefined) return genesisRecord(block, cid, counters)
  const rec: DocRecord = { ...prev, v: { ...prev.v }, w: { ...prev.w }, c: prev.c }
  const stamp: Stamp = [block.height, cid]
  let index = -1
  let replaced = false
  for (const name in block.fields) {
    const counter = counters?.get(name)
    if (counter !== undefined) {
      addToCounter(rec.v, name, counter, block.fields[name])
      continue
    }
    const current = stampOf(rec, name)
    if (current !== undefined && compareStamps(stamp, current) <= 0) continue
    if (index < 0) {
      rec.c = [...prev.c, cid]
      index = rec.c.length - 1
    }
    if (current !== undefined) replaced = true
    rec.w[name] = [block.height, index]
    const value = block.fields[name]
    if (name === DELETED_FIELD) rec.deleted = value === true
    else rec.v[name] = value
  }
  if (replaced) compactCIDs(rec)
  if (block.parents.length === 1) {
    const parent = cidString(block.parents[0]!.bytes)
    rec.heads = [...rec.heads.filter((h) => h !== parent), cid].sort(compareCIDStrings)
  } else {
    const parents = new Set(block.parents.map((p) => cidString(p.bytes)))
    rec.heads = [...rec.heads.filter((h) => !parents.has(h)), cid].sort(compareCIDStrings)
  }
  rec.h = Math.max(rec.h, block.height)
  if (block.parents.length === 0) rec.createdAt = block.time
  rec.updatedAt = Math.max(rec.updatedAt, block.time)
  return rec
}

/** A new document's record: every field it sets is stamped by its genesis block. */
function genesisRecord(block: UnsignedBlock, cid: BlockCID, counters?: Counters): DocRecord {
  const v: Record<string, unknown> = {}
  const w: Record<string, StoredStamp> = {}
  let deleted = false
  for (const name in block.fields) {
    const value = block.fields[name]
    const counter = counters?.get(name)
    if (counter !== undefined) {
      // The start value: a counter's first term, stamped like any field (history, reads).
      addToCounter(v, name, counter, value)
      w[name] = [block.height, 0]
      continue
    }
    w[name] = [block.height, 0]
    if (name === DELETED_FIELD) deleted = value === true
    else v[name] = value
  }
  return { v, w, c: [cid], heads: [cid], h: block.height, deleted, createdAt: block.time, updatedAt: block.time }
}

/** Drops the CIDs no stamp names any more, renumbering the stamps. */
function compactCIDs(rec: DocRecord): void {
  const used = new Map<number, number>()
  const c: BlockCID[] = []
  for (const name in rec.w) {
    const [height, i] = rec.w[name]!
    let j = used.get(i)
    if (j === undefined) {
      j = c.length
      c.push(rec.c[i]!)
      used.set(i, j)
    }
    if (j !== i) rec.w[name] = [height, j]
  }
  rec.c = c
}

/**
 * Counters (`@crdt(type: pncounter|pcounter)`): the counter fields a block's schema version has, by
 * name, with their scalar. A counter field of the genesis block is the start value; of any later
 * block, an increment (negative: a decrement). The value is their sum, so it depends on the set of
 * blocks alone: Int sums are exact; a Float counter also keeps its sum exactly (every double is an
 * integer multiple of 2^-1074) under the hidden key `_sum.FIELD` of `v`, from which its value is
 * rounded, because adding doubles in different orders can round differently.
 */
export type Counters = ReadonlyMap<string, 'Int' | 'Float'>

const SUM_PREFIX = '_sum.'

function addToCounter(v: Record<string, unknown>, name: string, kind: 'Int' | 'Float', term: unknown): void {
  if (typeof term !== 'number' || !Number.isFinite(term)) return
  if (kind === 'Int') {
    v[name] = (typeof v[name] === 'number' ? v[name] as number : 0) + term
    return
  }
  const key = SUM_PREFIX + name
  const sum = (typeof v[key] === 'string' ? BigInt(v[key] as string) : exactOf(typeof v[name] === 'number' ? v[name] as number : 0)) + exactOf(term)
  v[key] = sum.toString()
  v[name] = numberOf(sum)
}

/**
 * What a counter field reads. Its start term is the genesis block's value (a new document gets the
 * field's default there); a document without one (written before the field was added, or created
 * without a value and no default) starts at the field's default, so its increments add to that.
 * The default comes from the schema, the same on every device that has its versions.
 */
export function counterValue(rec: Pick<DocRecord, 'v' | 'w'>, name: string, kind: 'Int' | 'Float', dflt: unknown): unknown {
  const sum = rec.v[name]
  if (rec.w[name] !== undefined || typeof dflt !== 'number' || !Number.isFinite(dflt)) return sum ?? dflt ?? null
  if (typeof sum !== 'number') return dflt
  if (kind === 'Int') return sum + dflt
  const exact = rec.v[SUM_PREFIX + name]
  return numberOf((typeof exact === 'string' ? BigInt(exact) : exactOf(sum)) + exactOf(dflt))
}

/** A finite double as the integer it is times 2^1074. */
export function exactOf(x: number): bigint {
  if (x === 0) return 0n
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, x)
  const bits = view.getBigUint64(0)
  const negative = bits >> 63n === 1n
  const exp = Number((bits >> 52n) & 0x7ffn)
  const frac = bits & ((1n << 52n) - 1n)
  const magnitude = exp === 0 ? frac : (frac | (1n << 52n)) << BigInt(exp - 1)
  return negative ? -magnitude : magnitude
}

/** The double nearest an exact sum (integer times 2^-1074); the same sum, the same double. */
export function numberOf(exact: bigint): number {
  if (exact === 0n) return 0
  const negative = exact < 0n
  let m = negative ? -exact : exact
  const bits = m.toString(2).length
  let scale = -1074
  if (bits > 64) {
    const shift = bits - 64
    const rest = m & ((1n << BigInt(shift)) - 1n)
    m = (m >> BigInt(shift)) | (rest === 0n ? 0n : 1n) // the sticky bit keeps the rounding right
    scale += shift
  }
  let x = Number(m)
  // Multiply by 2^scale in steps that stay representable.
  while (scale > 0) { const s = Math.min(scale, 1000); x *= 2 ** s; scale -= s }
  while (scale < 0) { const s = Math.max(scale, -1000); x *= 2 ** s; scale -= s }
  return negative ? -x : x
}
