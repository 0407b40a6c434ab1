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
 *
 * The *signed* block floor (`signedFloorOps`) is the same store with its blocks made to verify
 * alone, which issue 20 asks of Tandem's blocks ("a block still verifies alone"): what any store of
 * signed, self-verifying content-addressed blocks does for a document at the least. See there.
 */
import { deepStrictEqual, ok } from 'node:assert'
import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { ClassicLevel } from 'classic-level'
import { CID } from 'multiformats/cid'
import { sha256 as multiSha256 } from 'multiformats/hashes/sha2'
import { encodeCbor, encodeCborWithSlot, spliceEntry, writeLatin1 } from '../main/db/cbor.ts'
import { merkleLevels, rootFrom } from '../main/db/block.ts'
import { cidOf, sha256Latin1 } from '../main/db/cid.ts'
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

// ---- the signed block floor ----

/**
 * Blocks signed together: one Ed25519 signature over the Merkle root of SIGNED_CHUNK blocks, as
 * Tandem signs its own (main/db/block.ts SIGN_CHUNK). Of the ways tried (whole blocks or lean ones,
 * chunks of 16, 64 or 1000 blocks), lean blocks in chunks of 64 were the fastest here.
 */
export const SIGNED_CHUNK = 64
const ROOT_DOMAIN = new TextEncoder().encode('tandem-bench/signed-floor/root\0')
/** Lean form: 12 bytes of the chunk record's key, the block's index in its chunk, its slot offset (2 bytes), then the LEAF byte (0) and the unsigned map. */
const REF_BYTES = 15
const LEAD = REF_BYTES + 1

/** The author of the signed floor's blocks: an Ed25519 key pair, and the public key's 32 bytes that each block carries. */
export interface FloorSigner { privateKey: KeyObject; publicKey: Uint8Array }

export function floorSigner(): FloorSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return { privateKey, publicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(12)) }
}

/** Leaf `i`'s proof path (sibling hashes, leaves first) and its side bits (bit j: the j-th sibling is on the right). */
function proofOf(levels: string[][], i: number): { p: Uint8Array; d: number } {
  const siblings: string[] = []
  let d = 0
  for (let l = 0, j = i; l < levels.length - 1; l++, j >>= 1) {
    const k = j ^ 1
    if (k >= levels[l]!.length) continue
    if (k > j) d |= 1 << siblings.length
    siblings.push(levels[l]![k]!)
  }
  const p = new Uint8Array(32 * siblings.length)
  siblings.forEach((s, k) => writeLatin1(p, 32 * k, s))
  return { p, d }
}

function rootBytes(levels: string[][]): Uint8Array {
  const root = new Uint8Array(ROOT_DOMAIN.length + 32)
  root.set(ROOT_DOMAIN, 0)
  writeLatin1(root, ROOT_DOMAIN.length, levels[levels.length - 1]![0]!)
  return root
}

/**
 * The signed floor's pairs for one call: the block floor's block `{ d, f }`, plus its author's
 * public key `a` (32 bytes) and `sig: { s, p, d }` — the chunk's signature, the proof path from its
 * leaf (sha256 of 0 + the block's dag-cbor without `sig`) to the signed root, the side bits — so
 * that the block verifies alone, by its bytes and the key it names. Its CID is of the whole block,
 * signature included (what a peer receives and checks). It is stored as Tandem stores its blocks
 * (main/db/lean-block.ts): lean, without the signature entry (under the CID's 36 bytes), each
 * chunk's signature and leaves once (`t` + 12 bytes of the signature), from which every whole block
 * comes back byte for byte; and the same docID → CID pointer as the block floor. Each block is
 * encoded once: its unsigned map with a slot where `sig` is spliced in for the CID. Without
 * `pointers`, the pointers are left out (a store that keeps a record per document instead); given
 * `cids`, each block's CID bytes are pushed to it in the documents' order.
 */
export function signedFloorOps(docs: readonly Doc[], ids: readonly string[], signer: FloorSigner, pointers = true, cids?: Uint8Array[]): Op[] {
  const ops: Op[] = []
  for (let c = 0; c < docs.length; c += SIGNED_CHUNK) {
    const n = Math.min(SIGNED_CHUNK, docs.length - c)
    const unsigned = new Array<{ bytes: Uint8Array; at: number }>(n)
    const leaves = new Array<string>(n)
    for (let i = 0; i < n; i++) {
      const u = encodeCborWithSlot({ a: signer.publicKey, d: ids[c + i], f: docs[c + i] }, 'sig', LEAD)
      if (u === null) throw new Error('signed floor: a document outside the encoder\'s fast subset')
      unsigned[i] = u
      leaves[i] = sha256Latin1(u.bytes.subarray(REF_BYTES)) // 0 (LEAF) + the map
    }
    const levels = merkleLevels(leaves)
    const s = new Uint8Array(sign(null, rootBytes(levels), signer.privateKey))
    const chunk = new Uint8Array(64 + 32 * n)
    chunk.set(s, 0)
    leaves.forEach((leaf, i) => writeLatin1(chunk, 64 + 32 * i, leaf))
    ops.push({ type: 'put', key: chunkKey(s), value: chunk })
    for (let i = 0; i < n; i++) {
      const u = unsigned[i]!
      const { p, d } = proofOf(levels, i)
      const whole = spliceEntry(u.bytes.subarray(LEAD), u.at, 'sig', { s, p, d }) // a literal: the encoder knows its shape
      const cid = cidOf(whole).bytes
      const lean = u.bytes
      lean.set(s.subarray(0, 12), 0)
      lean[12] = i
      lean[13] = u.at & 0xff
      lean[14] = u.at >> 8
      ops.push({ type: 'put', key: cid, value: lean })
      cids?.push(cid)
      if (pointers) ops.push({ type: 'put', key: Buffer.from(`d${ids[c + i]}`, 'latin1'), value: cid })
    }
  }
  return ops
}

function chunkKey(s: Uint8Array): Uint8Array {
  const key = new Uint8Array(13)
  key[0] = 0x74 // t
  key.set(s.subarray(0, 12), 1)
  return key
}

/** Builds and writes each call's signed pairs, one call after another (timed as the block floor is). */
export async function signedFloorBulk(db: Store, batches: readonly Doc[][], ids: readonly string[][], signer: FloorSigner): Promise<void> {
  for (let i = 0; i < batches.length; i++) await db.batch(signedFloorOps(batches[i]!, ids[i]!, signer))
}

/** Builds each call's signed pairs and drops them (the signed floor's CPU alone). */
export function signedFloorBuild(batches: readonly Doc[][], ids: readonly string[][], signer: FloorSigner): number {
  let pairs = 0
  for (let i = 0; i < batches.length; i++) pairs += signedFloorOps(batches[i]!, ids[i]!, signer).length
  return pairs
}

/** Keys the signed floor writes for these calls: a block and a pointer a document, a record a chunk. */
export function signedFloorKeys(batches: readonly Doc[][]): number {
  return batches.reduce((sum, b) => sum + 2 * b.length + Math.ceil(b.length / SIGNED_CHUNK), 0)
}

/**
 * Checks (untimed) that the signed floor's pairs are what they claim, for a call of `docs`: each
 * block comes back whole from its lean form and its chunk's record, hashes to the CID it is stored
 * under, decodes to its document with its author's key, and its proof leads to a root that key
 * signed; each ID points to its block's CID.
 */
export async function checkSignedFloorOps(docs: readonly Doc[], ids: readonly string[], signer: FloorSigner): Promise<void> {
  const ops = signedFloorOps(docs, ids, signer)
  const chunks = new Map<string, Uint8Array>()
  for (const op of ops) if (op.key.length === 13 && op.key[0] === 0x74) chunks.set(Buffer.from(op.key).toString('hex'), op.value)
  let blocks = 0
  for (let k = 0; k < ops.length; k++) {
    const { key, value } = ops[k]!
    if (key.length !== 36) continue
    const chunk = chunks.get(Buffer.from(chunkKey(value.subarray(0, 12))).toString('hex'))
    ok(chunk !== undefined, 'signed floor: a block names its chunk\'s record')
    const n = (chunk.length - 64) / 32
    const leaves = Array.from({ length: n }, (_, i) => Buffer.from(chunk.subarray(64 + 32 * i, 96 + 32 * i)).toString('latin1'))
    const levels = merkleLevels(leaves)
    const s = chunk.subarray(0, 64)
    const { p, d } = proofOf(levels, value[12]!)
    const whole = spliceEntry(value.subarray(LEAD), value[13]! | (value[14]! << 8), 'sig', { s, p, d })
    const cid = CID.createV1(dagCbor.code, await multiSha256.digest(whole))
    deepStrictEqual(key, cid.bytes, 'signed floor: the whole block hashes to the CID it is stored under')
    const block = dagCbor.decode(whole) as { a: Uint8Array; d: string; f: Doc; sig: { s: Uint8Array; p: Uint8Array; d: number } }
    const at = docs.findIndex((_, i) => ids[i] === block.d)
    deepStrictEqual({ d: block.d, f: block.f }, { d: ids[at], f: docs[at] }, 'signed floor: the block decodes to its document')
    // It verifies alone: its leaf, its proof, the key it names.
    const unsigned = { a: block.a, d: block.d, f: block.f }
    const leaf = sha256Latin1(new Uint8Array([0, ...encodeCbor(unsigned)]))
    deepStrictEqual(leaf, leaves[value[12]!], 'signed floor: the leaf is the unsigned block\'s')
    const h = rootFrom(leaf, block.sig)
    const key32 = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), block.a]), format: 'der', type: 'spki' })
    ok(verify(null, rootBytes([[h]]), key32, block.sig.s), 'signed floor: the block\'s proof leads to a root its author signed')
    deepStrictEqual(ops[k + 1], { type: 'put', key: Buffer.from(`d${block.d}`, 'latin1'), value: key }, 'signed floor: the ID points to the block')
    blocks++
  }
  deepStrictEqual(blocks, docs.length, 'signed floor: one block a document')
}
