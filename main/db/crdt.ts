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
import { compareCIDStrings } from './cid.ts'
import { DELETED_FIELD, type UnsignedBlock } from './block.ts'

/** [height, CID] of the block whose write currently wins a register. */
export type Stamp = [number, string]

export interface DocRecord {
  /** Current value per field. */
  v: Record<string, unknown>
  /** Winning stamp per field (and for `_deleted`). */
  w: Record<string, Stamp>
  /** CIDs of the blocks no other block links to. */
  heads: string[]
  /** Greatest height of any block (= of any head). */
  h: number
  deleted: boolean
  /** Time of the genesis block and the latest block applied (display only). */
  createdAt: number
  updatedAt: number
}

export function compareStamps(a: Stamp, b: Stamp): number {
  return a[0] !== b[0] ? a[0] - b[0] : compareCIDStrings(a[1], b[1])
}

/**
 * The record after applying `block` (CID `cid`) to `prev`. The block's parents must all have been
 * applied already (causal completeness), so none of the existing blocks links to it and it becomes
 * a head, replacing the parents it links.
 */
export function applyToRecord(prev: DocRecord | undefined, block: UnsignedBlock, cid: BlockCID): DocRecord {
  const rec: DocRecord = prev === undefined
    ? { v: {}, w: {}, heads: [], h: 0, deleted: false, createdAt: block.time, updatedAt: block.time }
    : { ...prev, v: { ...prev.v }, w: { ...prev.w } }
  const stamp: Stamp = [block.height, cid]
  for (const [name, value] of Object.entries(block.fields)) {
    const current = rec.w[name]
    if (current !== undefined && compareStamps(stamp, current) <= 0) continue
    rec.w[name] = stamp
    if (name === DELETED_FIELD) rec.deleted = value === true
    else rec.v[name] = value
  }
  const parents = new Set(block.parents.map((p) => p.toString()))
  rec.heads = [...rec.heads.filter((h) => !parents.has(h)), cid].sort(compareCIDStrings)
  rec.h = Math.max(rec.h, block.height)
  if (block.parents.length === 0) rec.createdAt = block.time
  rec.updatedAt = Math.max(rec.updatedAt, block.time)
  return rec
}
