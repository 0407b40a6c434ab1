/**
 * A block is one change to one document: dag-cbor, CIDv1 sha2-256, signed by its author.
 *
 * Signatures are amortized over batches: the author signs the root of a Merkle tree whose leaves are
 * the hashes of the unsigned blocks written together (a bulk create, one commit), and each block
 * carries that signature plus its proof path. A block alone is still verifiable; a receiver verifies
 * each distinct root once (see `verifyBlock`'s cache), so a 10k-document import costs one signature,
 * not 10k (Ed25519 verify runs ~10k/s per core here — LAB-NOTES.md).
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { LRUCache } from 'lru-cache'
import { TandemError } from '../../shared/errors.ts'
import type { BlockCID, DocID } from '../../shared/types.ts'
import { encodeCbor } from './cbor.ts'
import { cidOf, compareCIDStrings, parseCID, sha256 } from './cid.ts'
import { verifySignature, type DeviceIdentity } from './identity.ts'

export const BLOCK_VERSION = 1
/** The reserved field that carries deletion (an LWW register like any other field). */
export const DELETED_FIELD = '_deleted'

// Limits on what a block may hold, so that a hostile block cannot make us allocate without bound.
export const MAX_BLOCK_BYTES = 1024 * 1024
const MAX_PARENTS = 1024 // far more concurrent heads than a person's devices produce
const MAX_PROOF_STEPS = 30 // a batch of up to 2^30 blocks; keeps the side bits in a small integer
const NONCE_BYTES = 16

export interface UnsignedBlock {
  v: number
  collection: string
  /** The schema version the block was written under (the collection's root schema for now). */
  schema: string
  /** The document; absent in the genesis block, whose CID names the document. */
  doc?: string
  /** Genesis only: random, so two equal documents never share a docID. */
  nonce?: Uint8Array
  /** Sorted by CID. */
  parents: CID[]
  height: number
  /** The field deltas; `_deleted` for delete and restore. */
  fields: Record<string, unknown>
  author: string
  /** Wall-clock ms, for display only: the merge never reads it. */
  time: number
}

export interface BlockSignature {
  /** Ed25519 signature of SIGN_DOMAIN + the batch's Merkle root. */
  s: Uint8Array
  /** Proof path from this block's leaf to the root: the sibling hashes, 32 bytes each, leaf first. */
  p: Uint8Array
  /** Bit j set: at step j the sibling is on the right. */
  d: number
}

export interface Block extends UnsignedBlock {
  sig: BlockSignature
}

export interface EncodedBlock {
  cid: CID
  bytes: Uint8Array
  block: Block
}

const SIGN_DOMAIN = new TextEncoder().encode('tandem/block-root/v1\0')
const LEAF = 0x00
const NODE = 0x01

export function docIDOf(genesis: CID): DocID {
  return `bae-${genesis.toString()}` as DocID
}

/** The docID a block belongs to: its `doc` field, or its own CID for a genesis block. */
export function blockDocID(block: UnsignedBlock, cid: CID): DocID {
  return (block.doc ?? docIDOf(cid)) as DocID
}

/** `n` fresh random nonces (one call to the random source for all). */
export function newNonces(n: number): Uint8Array[] {
  const pool = new Uint8Array(n * NONCE_BYTES)
  for (let i = 0; i < pool.length; i += 65536) crypto.getRandomValues(pool.subarray(i, i + 65536))
  return Array.from({ length: n }, (_, i) => pool.subarray(i * NONCE_BYTES, (i + 1) * NONCE_BYTES))
}

function unsignedPart(block: UnsignedBlock): UnsignedBlock {
  const u: UnsignedBlock = {
    v: block.v, collection: block.collection, schema: block.schema, parents: block.parents,
    height: block.height, fields: block.fields, author: block.author, time: block.time,
  }
  if (block.doc !== undefined) u.doc = block.doc
  if (block.nonce !== undefined) u.nonce = block.nonce
  return u
}

function leafHash(block: UnsignedBlock): Uint8Array {
  const body = encodeCbor(unsignedPart(block))
  const buf = new Uint8Array(body.length + 1)
  buf[0] = LEAF
  buf.set(body, 1)
  return sha256(buf)
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(65)
  buf[0] = NODE
  buf.set(left, 1)
  buf.set(right, 33)
  return sha256(buf)
}

// Blocks per signature. Each block carries log2(this) sibling hashes of 32 bytes: 64 keeps that at
// 192 bytes while a 100k-document import costs ~1.6k signatures (~50 ms) instead of 100k (~3 s).
export const SIGN_CHUNK = 64

/** Signs blocks written together, one signature per chunk of SIGN_CHUNK, and encodes each. */
export async function signBlocks(identity: DeviceIdentity, blocks: UnsignedBlock[]): Promise<EncodedBlock[]> {
  const out: EncodedBlock[] = []
  for (let i = 0; i < blocks.length; i += SIGN_CHUNK) {
    out.push(...await signChunk(identity, blocks.slice(i, i + SIGN_CHUNK)))
  }
  return out
}

async function signChunk(identity: DeviceIdentity, blocks: UnsignedBlock[]): Promise<EncodedBlock[]> {
  let level = blocks.map(leafHash)
  const proofs: Array<{ hashes: Uint8Array[]; d: number }> = blocks.map(() => ({ hashes: [], d: 0 }))
  // Which leaves sit under each node of the current level, to append proof steps as we go up.
  let members: number[][] = blocks.map((_, i) => [i])
  while (level.length > 1) {
    const next: Uint8Array[] = []
    const nextMembers: number[][] = []
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i]!
      const right = level[i + 1]
      if (right === undefined) { // an odd node goes up unchanged
        next.push(left)
        nextMembers.push(members[i]!)
        continue
      }
      for (const leaf of members[i]!) addStep(proofs[leaf]!, right, true)
      for (const leaf of members[i + 1]!) addStep(proofs[leaf]!, left, false)
      next.push(nodeHash(left, right))
      nextMembers.push([...members[i]!, ...members[i + 1]!])
    }
    level = next
    members = nextMembers
  }
  const root = level[0]!
  const s = await identity.sign(concat(SIGN_DOMAIN, root))
  return blocks.map((b, i) => {
    const { hashes, d } = proofs[i]!
    const p = new Uint8Array(hashes.length * 32)
    hashes.forEach((h, j) => p.set(h, j * 32))
    const block: Block = { ...unsignedPart(b), sig: { s, p, d } }
    const bytes = encodeCbor(block)
    if (bytes.length > MAX_BLOCK_BYTES) {
      throw new TandemError('INVALID_INPUT', `This change is ${Math.round(bytes.length / 1024)} KiB; one change may be at most ${MAX_BLOCK_BYTES / 1024} KiB.`)
    }
    return { cid: cidOf(bytes), bytes, block }
  })
}

function addStep(proof: { hashes: Uint8Array[]; d: number }, sibling: Uint8Array, onRight: boolean): void {
  if (onRight) proof.d |= 1 << proof.hashes.length
  proof.hashes.push(sibling)
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/** The Merkle root a block's proof leads to. */
function rootOf(block: Block): Uint8Array {
  let h = leafHash(block)
  const { p, d } = block.sig
  for (let j = 0; j * 32 < p.length; j++) {
    const sibling = p.subarray(j * 32, j * 32 + 32)
    h = (d & (1 << j)) !== 0 ? nodeHash(h, sibling) : nodeHash(sibling, h)
  }
  return h
}

// Roots whose signatures were already checked, so each batch's signature is verified once.
const verifiedRoots = new LRUCache<string, true>({ max: 4096 })

/**
 * Decodes and checks one block received from anywhere: the bytes are canonical dag-cbor of the block
 * form, they hash to `expected` (when given), and the author's signature holds. Throws a TandemError
 * saying why not.
 */
export async function verifyBlock(bytes: Uint8Array, expected?: string): Promise<EncodedBlock> {
  if (!(bytes instanceof Uint8Array)) throw invalid('a block must be bytes')
  if (bytes.length > MAX_BLOCK_BYTES) throw invalid(`the block is ${bytes.length} bytes, over the ${MAX_BLOCK_BYTES} limit`)
  const cid = cidOf(bytes)
  if (expected !== undefined && cid.toString() !== expected) {
    throw new TandemError('BAD_CID', `the block's bytes hash to ${cid.toString()}, not to ${expected}`)
  }
  let decoded: unknown
  try {
    decoded = dagCbor.decode(bytes)
  } catch (err) {
    throw invalid(`not dag-cbor (${(err as Error).message})`)
  }
  const block = checkShape(decoded)
  // One logical block must have one CID: refuse other encodings of the same content.
  if (!equalBytes(encodeCbor(block), bytes)) throw invalid('not in canonical dag-cbor form')
  const root = rootOf(block)
  const key = `${block.author}|${Buffer.from(root).toString('base64')}|${Buffer.from(block.sig.s).toString('base64')}`
  if (!verifiedRoots.has(key)) {
    let ok = false
    try {
      ok = await verifySignature(block.author, concat(SIGN_DOMAIN, root), block.sig.s)
    } catch (err) {
      if (err instanceof TandemError) throw err
    }
    if (!ok) throw new TandemError('BAD_SIGNATURE', `the signature is not ${block.author}'s`)
    verifiedRoots.set(key, true)
  }
  return { cid, bytes, block }
}

/** Decodes a block that came from our own store (already verified when it was written). */
export function decodeStoredBlock(bytes: Uint8Array): Block {
  return dagCbor.decode(bytes) as Block
}

function invalid(reason: string): TandemError {
  return new TandemError('BLOCK_INVALID', `invalid block: ${reason}`)
}

const KEYS = new Set(['v', 'collection', 'schema', 'doc', 'nonce', 'parents', 'height', 'fields', 'author', 'time', 'sig'])

function checkShape(x: unknown): Block {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) throw invalid('not a map')
  const b = x as Record<string, unknown>
  for (const k of Object.keys(b)) if (!KEYS.has(k)) throw invalid(`unknown key "${k.slice(0, 32)}"`)
  if (b.v !== BLOCK_VERSION) throw invalid(`unsupported version ${String(b.v)}`)
  if (parseCID(b.collection) === null) throw invalid('collection is not a collection ID')
  if (parseCID(b.schema) === null) throw invalid('schema is not a schema ID')
  if (typeof b.author !== 'string' || b.author.length === 0 || b.author.length > 128) throw invalid('author is not a device ID')
  if (typeof b.time !== 'number' || !Number.isSafeInteger(b.time) || b.time < 0) throw invalid('time is not a timestamp')
  if (typeof b.height !== 'number' || !Number.isSafeInteger(b.height) || b.height < 1) throw invalid('height is not a positive integer')
  if (!Array.isArray(b.parents) || b.parents.length > MAX_PARENTS) throw invalid('parents is not a list of CIDs')
  let prev = ''
  for (const p of b.parents) {
    const c = p === null || typeof p !== 'object' ? null : CID.asCID(p)
    if (c === null || parseCID(c.toString()) === null) throw invalid('a parent is not a block CID')
    const s = c.toString()
    if (prev !== '' && compareCIDStrings(prev, s) >= 0) throw invalid('parents are not sorted and distinct')
    prev = s
  }
  const genesis = b.parents.length === 0
  if (genesis) {
    if (b.doc !== undefined) throw invalid('a genesis block cannot name a document')
    if (!(b.nonce instanceof Uint8Array) || b.nonce.length !== NONCE_BYTES) throw invalid('a genesis block needs a 16-byte nonce')
    if (b.height !== 1) throw invalid('a genesis block has height 1')
  } else {
    if (typeof b.doc !== 'string' || !b.doc.startsWith('bae-') || parseCID(b.doc.slice(4)) === null) throw invalid('doc is not a docID')
    if (b.nonce !== undefined) throw invalid('only a genesis block carries a nonce')
  }
  if (b.fields === null || typeof b.fields !== 'object' || Array.isArray(b.fields)) throw invalid('fields is not a map')
  const del = (b.fields as Record<string, unknown>)[DELETED_FIELD]
  if (del !== undefined && typeof del !== 'boolean') throw invalid('_deleted must be true or false')
  const sig = b.sig as Record<string, unknown> | null
  if (sig === null || typeof sig !== 'object' || !(sig.s instanceof Uint8Array) || sig.s.length !== 64) throw invalid('missing or malformed signature')
  if (!(sig.p instanceof Uint8Array) || sig.p.length % 32 !== 0 || sig.p.length / 32 > MAX_PROOF_STEPS) throw invalid('malformed signature proof')
  if (typeof sig.d !== 'number' || !Number.isInteger(sig.d) || sig.d < 0 || sig.d >= 2 ** (sig.p.length / 32)) throw invalid('malformed signature proof sides')
  if (Object.keys(sig).some((k) => k !== 's' && k !== 'p' && k !== 'd')) throw invalid('unknown key in signature')
  return b as unknown as Block
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

export function blockCID(cid: CID): BlockCID {
  return cid.toString() as BlockCID
}
