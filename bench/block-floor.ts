/**
 * The block floor for W1 (bench/run.ts): the least any store that keeps its documents as
 * content-addressed dag-cbor blocks (issue 20: "blocks stay self-verifying content-addressed
 * dag-cbor") does for a new document, with Tandem's own fastest parts:
 *
 * - one block per document, `{ d: docID, f: fields }`, encoded by Tandem's encoder (main/db/cbor.ts);
 * - its CIDv1 (sha2-256, main/db/cid.ts), the block stored under the CID's 36 bytes;
 * - a pointer from the document ID to the CID, so that the document can be found.
 *
 * No collection, author, parents, signature or proof in the block; no records, heads, digests or
 * checks of the fields. Like W1, a call of 1000 documents is one atomic `batch()`, acknowledged once
 * written, and the next call starts after it: its blocks are built, then written.
 *
 * Measured three ways in the same run:
 * - `floorBulk`: built and written on one thread, as W1 is timed;
 * - `floorBuild`: the building alone (CPU, no LevelDB);
 * - `floorWrite`: pairs built before the clock starts, written (LevelDB, no CPU).
 * Spread perfectly over `cores` threads, a call could take no less than build ÷ cores + write.
 */
import { deepStrictEqual } from 'node:assert'
import * as dagCbor from '@ipld/dag-cbor'
import { ClassicLevel } from 'classic-level'
import { CID } from 'multiformats/cid'
import { sha256 as multiSha256 } from 'multiformats/hashes/sha2'
import { encodeCbor } from '../main/db/cbor.ts'
import { cidOf } from '../main/db/cid.ts'
import type { Doc } from './common.ts'

export type Op = { type: 'put'; key: Uint8Array; value: Uint8Array }

/** The two pairs of each document of one call: its block under its CID, and its ID pointing to that CID. */
export function floorOps(docs: readonly Doc[], ids: readonly string[]): Op[] {
  const ops: Op[] = []
  for (let i = 0; i < docs.length; i++) {
    const id = ids[i]!
    const block = encodeCbor({ d: id, f: docs[i] })
    const cid = cidOf(block).bytes
    ops.push({ type: 'put', key: cid, value: block }, { type: 'put', key: Buffer.from(`d${id}`, 'latin1'), value: cid })
  }
  return ops
}

/** Checks (untimed) that the floor's pairs are what they claim: a dag-cbor block under its true CID, and its ID pointing to it. */
export async function checkFloorOps(doc: Doc, id: string): Promise<void> {
  const [block, pointer] = floorOps([doc], [id])
  deepStrictEqual(dagCbor.decode(block!.value), { d: id, f: doc }, 'block floor: the block decodes to its document')
  const cid = CID.createV1(dagCbor.code, await multiSha256.digest(block!.value))
  deepStrictEqual(block!.key, cid.bytes, 'block floor: the block is stored under its CID')
  deepStrictEqual([Buffer.from(pointer!.key).toString('latin1'), pointer!.value], [`d${id}`, cid.bytes], 'block floor: the ID points to the CID')
}

type Store = ClassicLevel<Uint8Array, Uint8Array>

/** Builds and writes each call's pairs, one call after another (the timed floor). */
export async function floorBulk(db: Store, batches: readonly Doc[][], ids: readonly string[][]): Promise<void> {
  for (let i = 0; i < batches.length; i++) await db.batch(floorOps(batches[i]!, ids[i]!))
}

/**
 * Builds each call's pairs and drops them, as the timed floor does with each call's once written
 * (the floor's CPU alone; keeping them all would make it pay for promoting them to V8's old space).
 */
export function floorBuild(batches: readonly Doc[][], ids: readonly string[][]): number {
  let pairs = 0
  for (let i = 0; i < batches.length; i++) pairs += floorOps(batches[i]!, ids[i]!).length
  return pairs
}

/** Writes pairs built before (the floor's LevelDB work alone). */
export async function floorWrite(db: Store, built: readonly Op[][]): Promise<void> {
  for (const ops of built) await db.batch(ops)
}

/** Keys and values of built pairs, in bytes. */
export function floorBytes(built: readonly Op[][]): number {
  let n = 0
  for (const ops of built) for (const op of ops) n += op.key.length + op.value.length
  return n
}
