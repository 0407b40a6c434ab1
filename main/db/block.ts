/**
 * A block is one change to one document: dag-cbor, CIDv1 sha2-256, signed by its author.
 *
 * Signatures are amortized over batches: the author signs the root of a Merkle tree whose leaves are
 * the hashes of the unsigned blocks written together (a bulk create, one commit), and each block
 * carries that signature plus its proof path. A block alone is still verifiable; a receiver verifies
 * each distinct root once (see `verifyBlock`'s cache), so a 10k-document import costs one signature,
 * not 10k (Ed25519 verify runs ~10k/s on one core of a 2-vCPU VM).
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { LRUCache } from 'lru-cache'
import { TandemError } from '../../shared/errors.ts'
import type { BlockCID, CollectionID, DeviceID, DocID, VersionID } from '../../shared/types.ts'
import { encodeCbor, encodeCborWithSlot, encodesTo, slabAlloc, spliceEntry, writeLatin1 } from './cbor.ts'
import { scanLinks } from './block-decode.ts'
import { cidOf, cidString, compareCIDStrings, isCIDString, isOurCID, sha256Latin1 } from './cid.ts'
import { publicKeyOf, verifySignature, type DeviceIdentity } from './identity.ts'
import { verifyMany, type SignatureCheck } from './verify-worker.ts'
import { decodeCanonicalBlock } from './block-decode.ts'
import { storedBody } from './lean-block.ts'

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
  collection: CollectionID
  /** The schema version the block was written under (the collection's root schema for now). */
  schema: VersionID
  /** The document; absent in the genesis block, whose CID names the document. */
  doc?: DocID
  /** Genesis only: random, so two equal documents never share a docID. */
  nonce?: Uint8Array
  /** Sorted by CID. */
  parents: CID[]
  height: number
  /** The field deltas; `_deleted` for delete and restore. */
  fields: Record<string, unknown>
  author: DeviceID
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
  /** `cid` as a string. */
  id: BlockCID
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
export function blockDocID(block: UnsignedBlock, cid: CID | string): DocID {
  return (block.doc ?? `bae-${typeof cid === 'string' ? cid : cidString(cid.bytes)}`) as DocID
}

/** True when a document's heads are its first block alone (never edited): the CID its docID names (`bae-<CID>`). */
export function onlyFirstBlock(docID: string, heads: readonly string[]): boolean {
  const cid = heads.length === 1 ? heads[0]! : undefined
  return cid !== undefined && docID.length === cid.length + 4 && docID.startsWith('bae-') && docID.endsWith(cid)
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

// Hashes inside the Merkle tree are latin1 strings (one UTF-16 unit per byte): node:crypto returns
// those several times faster than a Buffer, and they only ever feed the next hash.

/** The leaf of an unsigned block: sha256(LEAF | its dag-cbor bytes). */
function leafHash(block: UnsignedBlock): string {
  const body = encodeCbor(unsignedPart(block))
  const buf = new Uint8Array(body.length + 1)
  buf[0] = LEAF
  buf.set(body, 1)
  return sha256Latin1(buf)
}

const nodeBuf = new Uint8Array(65)
nodeBuf[0] = NODE

function nodeHash(left: string, right: string): string {
  writeLatin1(nodeBuf, 1, left)
  writeLatin1(nodeBuf, 33, right)
  return sha256Latin1(nodeBuf)
}

// Blocks per signature. Each block carries log2(this) sibling hashes of 32 bytes: 64 keeps that at
// 192 bytes while a 100k-document import costs ~1.6k signatures (~50 ms) instead of 100k (~3 s).
export const SIGN_CHUNK = 64

/**
 * Signs blocks written together, one signature per chunk of SIGN_CHUNK, and encodes each. Signing
 * stays on the event loop: handing each root to the thread pool (node:crypto's callback form) was
 * tried and measured worse on this 2-core machine — issuing one cost 90–140 µs of the event loop
 * (median, under load) against 50–70 µs to sign inline.
 */
export async function signBlocks(identity: DeviceIdentity, blocks: UnsignedBlock[]): Promise<EncodedBlock[]> {
  const out: EncodedBlock[] = []
  for (let i = 0; i < blocks.length; i += SIGN_CHUNK) {
    const chunk = prepareChunk(blocks.slice(i, i + SIGN_CHUNK))
    out.push(...finishChunk(chunk, await identity.sign(signedRoot(chunk))))
  }
  return out
}

/** A chunk of blocks encoded unsigned, with its Merkle tree (levels of latin1 hashes, leaves first). */
interface PreparedChunk {
  parts: UnsignedBlock[]
  unsigned: Array<{ bytes: Uint8Array; at: number } | null>
  levels: string[][]
}

function prepareChunk(blocks: UnsignedBlock[]): PreparedChunk {
  const n = blocks.length
  // Each block is encoded once: its unsigned bytes (after a LEAF byte, hashed as they lie) with the
  // offset where the `sig` entry goes, which is spliced in once the root is signed.
  const parts = new Array<UnsignedBlock>(n)
  const unsigned = new Array<{ bytes: Uint8Array; at: number } | null>(n)
  const leaves = new Array<string>(n)
  for (let i = 0; i < n; i++) {
    const u = unsignedPart(blocks[i]!)
    const enc = encodeCborWithSlot(u as unknown as Record<string, unknown>, 'sig', 1)
    parts[i] = u
    unsigned[i] = enc
    leaves[i] = enc === null ? leafHash(u) : sha256Latin1(enc.bytes) // its lead byte is 0 = LEAF
  }
  return { parts, unsigned, levels: merkleLevels(leaves) }
}

/** The Merkle tree over leaf hashes (latin1), level by level: pairs hash together, an odd last node goes up unchanged. */
export function merkleLevels(leaves: string[]): string[][] {
  const levels: string[][] = [leaves]
  for (let level = leaves; level.length > 1;) {
    const next: string[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!))
    if (level.length % 2 === 1) next.push(level[level.length - 1]!)
    levels.push(next)
    level = next
  }
  return levels
}

/** What the author signs for a chunk: SIGN_DOMAIN + its Merkle root. */
function signedRoot(chunk: PreparedChunk): Uint8Array {
  const root = new Uint8Array(32)
  writeLatin1(root, 0, chunk.levels[chunk.levels.length - 1]![0]!)
  return concat(SIGN_DOMAIN, root)
}

function finishChunk({ parts, unsigned, levels }: PreparedChunk, s: Uint8Array): EncodedBlock[] {
  const n = parts.length
  const out = new Array<EncodedBlock>(n)
  const siblings: string[] = []
  for (let i = 0; i < n; i++) {
    // Proof path: the sibling at each level where this leaf's node has one; bit j set when the j-th
    // sibling is on the right.
    siblings.length = 0
    let d = 0
    for (let l = 0, j = i; l < levels.length - 1; l++, j >>= 1) {
      const level = levels[l]!
      const k = j ^ 1
      if (k >= level.length) continue
      if (k > j) d |= 1 << siblings.length
      siblings.push(level[k]!)
    }
    const p = slabAlloc(siblings.length * 32)
    for (let j = 0; j < siblings.length; j++) writeLatin1(p, j * 32, siblings[j]!)
    const sig: BlockSignature = { s, p, d }
    const block = parts[i] as Block
    block.sig = sig
    const enc = unsigned[i] ?? null
    const bytes = enc === null ? encodeCbor(block) : spliceEntry(enc.bytes.subarray(1), enc.at, 'sig', sig)
    if (bytes.length > MAX_BLOCK_BYTES) {
      throw new TandemError('INVALID_INPUT', `This change is ${Math.round(bytes.length / 1024)} KiB; one change may be at most ${MAX_BLOCK_BYTES / 1024} KiB.`)
    }
    const cid = cidOf(bytes)
    out[i] = { cid, id: blockCID(cid), bytes, block }
  }
  return out
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/**
 * The Merkle root a block's proof leads to, from its leaf hash: one node hash per sibling, each
 * read from the proof's bytes in place.
 *
 * Blocks signed together used to share the inner nodes they had in common through a memo per
 * call. Measured on 20k blocks in frames of 2048 (W1's batches): in write order the memo saved
 * nothing (~6.9 µs a checked block either way: its maps cost what the hashes it skipped did), and
 * in a catch-up's order (by docID, so a frame holds one or two blocks of each 64-block chunk) it
 * made a checked block cost 14.2 µs against 8.3 without it.
 */
export function rootFrom(leaf: string, sig: BlockSignature): string {
  let h = leaf
  const { p, d } = sig
  for (let j = 0, at = 0; at < p.length; j++, at += 32) {
    if ((d & (1 << j)) !== 0) {
      writeLatin1(nodeBuf, 1, h)
      for (let i = 0; i < 32; i++) nodeBuf[33 + i] = p[at + i]!
    } else {
      for (let i = 0; i < 32; i++) nodeBuf[1 + i] = p[at + i]!
      writeLatin1(nodeBuf, 33, h)
    }
    h = sha256Latin1(nodeBuf)
  }
  return h
}

// Roots whose signatures were already checked, so each batch's signature is verified once.
// Keyed by the signature's bytes (latin1), which stand for the whole check only with the same
// author and root: a hit needs all three equal.
const verifiedRoots = new LRUCache<string, { author: string; root: string }>({ max: 4096 })

/**
 * Decodes and checks one block received from anywhere: the bytes are canonical dag-cbor of the block
 * form, they hash to `expected` (when given), and the author's signature holds. Throws a TandemError
 * saying why not.
 */
export async function verifyBlock(bytes: Uint8Array, expected?: string): Promise<EncodedBlock> {
  const [r] = await verifyBlocks([{ bytes, expected }])
  if (r instanceof TandemError) throw r
  return r!
}

/**
 * `verifyBlock` for many blocks at once, each answered alone (the block, or why not). Each distinct
 * signature (blocks signed together share one) is verified once, all of them concurrently off the
 * event loop. `attestedBy`: a device whose attestation of these very blocks' CIDs the caller has
 * checked (attest.ts); the blocks it authored need no signature check of their own (every other
 * check still applies).
 */
export async function verifyBlocks(
  items: ReadonlyArray<{ bytes: Uint8Array; expected?: string | undefined; cid?: CID | undefined }>,
  options: { attestedBy?: string | undefined } = {},
): Promise<Array<EncodedBlock | TandemError>> {
  const out = new Array<EncodedBlock | TandemError>(items.length)
  // Blocks signed together carry equal signatures: the last one's key part is reused.
  let lastS: Uint8Array | null = null
  let lastSKey = ''
  // signature key → the indexes of the blocks that need it, and what to verify
  const bySig = new Map<string, { author: string; rootKey: string; sKey: string; root: Uint8Array; s: Uint8Array; at: number[] }>()
  for (let i = 0; i < items.length; i++) {
    try {
      const { enc, root } = decodeChecked(items[i]!.bytes, items[i]!.expected, items[i]!.cid, options.attestedBy)
      out[i] = enc
      // Its author sent it and signed the frame's CIDs (attest.ts): that signature covers this block.
      if (root === null) continue
      const { author, sig } = enc.block
      if (lastS === null || !sameSignature(lastS, sig.s)) {
        lastS = sig.s
        lastSKey = Buffer.from(sig.s.buffer, sig.s.byteOffset, sig.s.length).toString('latin1')
      }
      // By the signature alone (one short string, hashed once); the author and root must match too.
      const done = verifiedRoots.get(lastSKey)
      if (done !== undefined && done.author === author && done.root === root) continue
      let key = lastSKey
      let entry = bySig.get(key)
      if (entry !== undefined && (entry.author !== author || entry.rootKey !== root)) {
        key = `${author}|${root}|${lastSKey}` // the same signature bytes claimed for another author or root
        entry = bySig.get(key)
      }
      if (entry === undefined) {
        const rootBytes = new Uint8Array(32)
        writeLatin1(rootBytes, 0, root)
        bySig.set(key, entry = { author, rootKey: root, sKey: lastSKey, root: rootBytes, s: sig.s, at: [] })
      }
      entry.at.push(i)
    } catch (err) {
      out[i] = err instanceof TandemError ? err : invalid((err as Error).message)
    }
  }
  const failed = (author: string, at: number[], error?: TandemError): void => {
    error ??= new TandemError('BAD_SIGNATURE', `the signature is not ${author}'s`)
    for (const i of at) out[i] = error
  }
  if (bySig.size <= 2) {
    // One or two (an edit by gossip): checked at once, the hop to another thread costs more.
    for (const { author, rootKey, sKey, root, s, at } of bySig.values()) {
      let ok = false
      let error: TandemError | undefined
      try {
        ok = await verifySignature(author, concat(SIGN_DOMAIN, root), s, { inline: true })
      } catch (err) {
        if (err instanceof TandemError) error = err
      }
      if (ok) verifiedRoots.set(sKey, { author, root: rootKey })
      else failed(author, at, error)
    }
    return out
  }
  // Many: checked together on the signature worker (verify-worker.ts), off the event loop.
  const checks: SignatureCheck[] = []
  const entries: Array<{ author: string; rootKey: string; sKey: string; at: number[] }> = []
  for (const { author, rootKey, sKey, root, s, at } of bySig.values()) {
    let pub
    try {
      pub = publicKeyOf(author)
    } catch (err) {
      failed(author, at, err instanceof TandemError ? err : undefined)
      continue
    }
    checks.push({ key: pub, data: concat(SIGN_DOMAIN, root), sig: s })
    entries.push({ author, rootKey, sKey, at })
  }
  const oks = await verifyMany(checks)
  entries.forEach(({ author, rootKey, sKey, at }, k) => {
    if (oks[k] === true) verifiedRoots.set(sKey, { author, root: rootKey })
    else failed(author, at)
  })
  return out
}

function sameSignature(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Every check of `verifyBlock` but the signature; returns the block and the root its proof leads to
 * (latin1), or null for a block by `attestedBy`, whose own signature need not be checked (neither
 * is its root needed: the leaf and proof hashes are skipped).
 */
function decodeChecked(bytes: Uint8Array, expected: string | undefined, known: CID | undefined, attestedBy?: string): { enc: EncodedBlock; root: string | null } {
  if (!(bytes instanceof Uint8Array)) throw invalid('a block must be bytes')
  if (bytes.length > MAX_BLOCK_BYTES) throw invalid(`the block is ${bytes.length} bytes, over the ${MAX_BLOCK_BYTES} limit`)
  const cid = known ?? cidOf(bytes) // `known`: computed by the caller from these very bytes
  const id = blockCID(cid)
  if (expected !== undefined && id !== expected) {
    throw new TandemError('BAD_CID', `the block's bytes hash to ${id}, not to ${expected}`)
  }
  let leaf: string
  let block: Block
  // Canonical bytes (what honest peers send) decode in one strict pass that also yields the leaf's
  // bytes; anything else takes the general path below, which decides as before.
  const fast = decodeCanonicalBlock(bytes)
  if (fast !== null) {
    block = checkShape(fast.value)
    if (block.author === attestedBy) return { enc: { cid, id, bytes, block }, root: null }
    leaf = sha256Latin1(fast.leafInput) // its lead byte is 0 = LEAF
    return { enc: { cid, id, bytes, block }, root: rootFrom(leaf, block.sig) }
  }
  let decoded: unknown
  try {
    decoded = dagCbor.decode(bytes)
  } catch (err) {
    throw invalid(`not dag-cbor (${(err as Error).message})`)
  }
  block = checkShape(decoded)
  // One logical block must have one CID: refuse other encodings of the same content. The unsigned
  // part is encoded once, for both this check (with the signature spliced in) and the leaf hash.
  const u = encodeCborWithSlot(unsignedPart(block) as unknown as Record<string, unknown>, 'sig', 1)
  if (u !== null) {
    const full = spliceEntry(u.bytes.subarray(1), u.at, 'sig', block.sig)
    if (full.length !== bytes.length || Buffer.compare(full, bytes) !== 0) throw invalid('not in canonical dag-cbor form')
    leaf = sha256Latin1(u.bytes) // its lead byte is 0 = LEAF
  } else {
    if (!encodesTo(block, bytes)) throw invalid('not in canonical dag-cbor form')
    leaf = leafHash(block)
  }
  return { enc: { cid, id, bytes, block }, root: block.author === attestedBy ? null : rootFrom(leaf, block.sig) }
}

/**
 * Decodes a block as it lies in our own store (verified when it was written): whole, or lean
 * (lean-block.ts), whose content comes without `sig` — what the readers of content need.
 */
export function decodeStoredBlock(bytes: Uint8Array): Block {
  return dagCbor.decode(storedBody(bytes)) as Block
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
  if (!isCIDString(b.collection)) throw invalid('collection is not a collection ID')
  if (!isCIDString(b.schema)) throw invalid('schema is not a schema ID')
  if (typeof b.author !== 'string' || b.author.length === 0 || b.author.length > 128) throw invalid('author is not a device ID')
  if (typeof b.time !== 'number' || !Number.isSafeInteger(b.time) || b.time < 0) throw invalid('time is not a timestamp')
  if (typeof b.height !== 'number' || !Number.isSafeInteger(b.height) || b.height < 1) throw invalid('height is not a positive integer')
  if (!Array.isArray(b.parents) || b.parents.length > MAX_PARENTS) throw invalid('parents is not a list of CIDs')
  let prev = ''
  for (const p of b.parents) {
    const c = p === null || typeof p !== 'object' ? null : CID.asCID(p)
    if (c === null || !isOurCID(c)) throw invalid('a parent is not a block CID')
    const s = cidString(c.bytes)
    if (prev !== '' && compareCIDStrings(prev, s) >= 0) throw invalid('parents are not sorted and distinct')
    prev = s
  }
  const genesis = b.parents.length === 0
  if (genesis) {
    if (b.doc !== undefined) throw invalid('a genesis block cannot name a document')
    if (!(b.nonce instanceof Uint8Array) || b.nonce.length !== NONCE_BYTES) throw invalid('a genesis block needs a 16-byte nonce')
    if (b.height !== 1) throw invalid('a genesis block has height 1')
  } else {
    if (typeof b.doc !== 'string' || !b.doc.startsWith('bae-') || !isCIDString(b.doc.slice(4))) throw invalid('doc is not a docID')
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

/** The ID of a block's CID (ours: CIDv1 dag-cbor sha2-256, whose `cidString` is its `toString()`). */
export function blockCID(cid: CID): BlockCID {
  return cidString(cid.bytes) as BlockCID
}

/**
 * The height and parent CIDs of a stored (already verified, canonical) block, read straight from
 * its bytes without decoding the rest: DAG walks (sync) need only these, and a full decode (with
 * a CID object per link) costs several times more.
 */
export function blockLinks(stored: Uint8Array): { height: number; parents: string[]; collection: string } {
  const bytes = storedBody(stored)
  try {
    return scanLinks(bytes)
  } catch {
    const b = decodeStoredBlock(bytes)
    return { height: b.height, parents: b.parents.map((p) => cidString(p.bytes)), collection: b.collection }
  }
}
