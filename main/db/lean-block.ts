/**
 * How a block lies in the store (format 7). On the wire and in backups a block is its canonical
 * dag-cbor bytes, signature included (block.ts): 64 bytes of signature and, for a block written in
 * a batch, a proof path of up to 192 bytes — the same signature in every block of its batch, and
 * the same inner nodes of the batch's Merkle tree in many proofs. Those ~260 random bytes were a
 * third of what a document cost in LevelDB, and no compression touches them.
 *
 * So a stored block of a batch (a proof of two steps or more) keeps, instead of its `sig` entry, a
 * reference into a *signature tree* record (`trees` sublevel): the signature once, and each node
 * hash that any stored block's proof names, once, in the order first met. The block keeps the
 * indexes of its proof's nodes, its side bits and where the entry went:
 *
 *   0x00 | varint at | tree key (12 bytes) | varint d | varint k | k × varint node index | body
 *
 * `body` is the block's canonical dag-cbor without the `sig` entry (the bytes its leaf hash is taken
 * of): it decodes as a block without a signature, for the reads that want the content alone. The
 * whole block comes back, byte for byte, by splicing the entry back at `at` (cbor.ts spliceEntry)
 * — checked when the lean form is made, so a block that would not come back whole stays whole.
 * A whole block starts with a CBOR map head (0xa0–0xbf), never 0x00: the two forms live side by side.
 *
 * A tree's key is the first 12 bytes of its signature; a tree record whose signature differs in the
 * other 52 bytes (no honest pair of batches does) leaves the block whole. Blocks whose proof has
 * fewer than two steps (an edit written alone, a pair) stay whole: a reference would not be shorter.
 */
import { varint } from 'multiformats'
import { spliceEntry } from './cbor.ts'

/** A block's signature (block.ts `BlockSignature`): the batch's signature, the proof path, its side bits. */
export interface BlockSignature { s: Uint8Array; p: Uint8Array; d: number }

/** The first byte of a block's lean form. */
export const LEAN = 0x00
const KEY_BYTES = 12
const SIG_BYTES = 64
const NODE_BYTES = 32
/** Proofs shorter than this stay in the block (see above). */
export const MIN_LEAN_STEPS = 2

/** A signature tree: its signature and the proof nodes its stored blocks name, each once. */
export interface SigTree {
  s: Uint8Array
  /** `count` nodes of 32 bytes, then room to grow. */
  nodes: Uint8Array
  count: number
  /** Node (latin1) → index, built when a block is added. */
  index?: Map<string, number>
}

/** The value encoding of the `trees` sublevel: signature then nodes. */
export const treeEncoding = {
  name: 'tandem-sig-tree',
  format: 'view' as const,
  encode(tree: SigTree): Uint8Array {
    const out = new Uint8Array(SIG_BYTES + tree.count * NODE_BYTES)
    out.set(tree.s, 0)
    out.set(tree.nodes.subarray(0, tree.count * NODE_BYTES), SIG_BYTES)
    return out
  },
  decode(bytes: Uint8Array): SigTree {
    if (bytes.length < SIG_BYTES || (bytes.length - SIG_BYTES) % NODE_BYTES !== 0) throw new Error(`a signature tree of ${bytes.length} bytes`)
    return { s: bytes.subarray(0, SIG_BYTES), nodes: bytes.subarray(SIG_BYTES), count: (bytes.length - SIG_BYTES) / NODE_BYTES }
  },
}

/** The key of the tree of a signature. */
export function treeKey(s: Uint8Array): string {
  return Buffer.from(s.buffer, s.byteOffset, KEY_BYTES).toString('base64url')
}

export function newTree(s: Uint8Array): SigTree {
  return { s: Uint8Array.from(s), nodes: new Uint8Array(8 * NODE_BYTES), count: 0, index: new Map() }
}

export function sameSignature(tree: SigTree, s: Uint8Array): boolean {
  return tree.s.length === s.length && Buffer.compare(tree.s, s) === 0
}

/** Index of a node in the tree, added at the end when new. */
function nodeIndex(tree: SigTree, p: Uint8Array, at: number): number {
  let index = tree.index
  if (index === undefined) {
    index = new Map()
    for (let i = 0; i < tree.count; i++) index.set(latin1(tree.nodes, i * NODE_BYTES), i)
    tree.index = index
  }
  const key = latin1(p, at)
  const found = index.get(key)
  if (found !== undefined) return found
  const i = tree.count
  if ((i + 1) * NODE_BYTES > tree.nodes.length) {
    const grown = new Uint8Array(Math.max(8, 2 * (i + 1)) * NODE_BYTES)
    grown.set(tree.nodes.subarray(0, i * NODE_BYTES))
    tree.nodes = grown
  }
  tree.nodes.set(p.subarray(at, at + NODE_BYTES), i * NODE_BYTES)
  tree.count = i + 1
  index.set(key, i)
  return i
}

function latin1(bytes: Uint8Array, at: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + at, NODE_BYTES).toString('latin1')
}

/**
 * Where the `sig` entry of a canonical block lies: [start, end) in its bytes. In dag-cbor key order
 * (by length, then bytes) it comes after `v` and `doc`: so after the map head, the `v` entry and a
 * `doc` entry if there is one. Null for bytes of any other shape.
 */
function sigEntry(bytes: Uint8Array, sig: BlockSignature): { start: number; end: number } | null {
  const head = bytes[0]!
  if (head < 0xa2 || head > 0xb7) return null
  let at = 1
  if (bytes[at] !== 0x61 || bytes[at + 1] !== 0x76) return null // "v"
  at += 2
  const v = bytes[at]!
  if (v > 0x17) return null // v is a small unsigned integer
  at += 1
  if (bytes[at] === 0x63 && bytes[at + 1] === 0x64 && bytes[at + 2] === 0x6f && bytes[at + 3] === 0x63) { // "doc"
    at += 4
    const h = bytes[at]!
    if (h >= 0x60 && h <= 0x77) at += 1 + (h - 0x60)
    else if (h === 0x78) at += 2 + bytes[at + 1]!
    else return null
  }
  if (bytes[at] !== 0x63 || bytes[at + 1] !== 0x73 || bytes[at + 2] !== 0x69 || bytes[at + 3] !== 0x67) return null // "sig"
  // The entry's value is the canonical map {d, p, s}: its length from the signature itself.
  const length = 4 + 1 + 2 + uintLength(sig.d) + 2 + bytesHeadLength(sig.p.length) + sig.p.length + 2 + bytesHeadLength(sig.s.length) + sig.s.length
  if (at + length > bytes.length) return null
  return { start: at, end: at + length }
}

function uintLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9
}

function bytesHeadLength(n: number): number {
  return uintLength(n)
}

/**
 * The lean form of a verified block (canonical bytes and its signature), adding its proof's nodes
 * to `tree` (the tree of its signature); null when the block is better kept whole, or would not
 * come back byte for byte.
 */
export function leanForm(bytes: Uint8Array, sig: BlockSignature, tree: SigTree): Uint8Array | null {
  const steps = sig.p.length / NODE_BYTES
  if (steps < MIN_LEAN_STEPS || !Number.isInteger(steps)) return null
  const entry = sigEntry(bytes, sig)
  if (entry === null) return null
  // The body: the map without the entry (one entry fewer in its one-byte head).
  const bodyLength = bytes.length - (entry.end - entry.start)
  const indexes: number[] = []
  for (let j = 0; j < steps; j++) indexes.push(nodeIndex(tree, sig.p, j * NODE_BYTES))
  const headLength = 1 + varint.encodingLength(entry.start) + KEY_BYTES + varint.encodingLength(sig.d) + varint.encodingLength(steps) +
    indexes.reduce((n, i) => n + varint.encodingLength(i), 0)
  const out = new Uint8Array(headLength + bodyLength)
  let at = 0
  out[at++] = LEAN
  varint.encodeTo(entry.start, out, at)
  at += varint.encodingLength(entry.start)
  out.set(sig.s.subarray(0, KEY_BYTES), at)
  at += KEY_BYTES
  varint.encodeTo(sig.d, out, at)
  at += varint.encodingLength(sig.d)
  varint.encodeTo(steps, out, at)
  at += varint.encodingLength(steps)
  for (const i of indexes) {
    varint.encodeTo(i, out, at)
    at += varint.encodingLength(i)
  }
  out[at] = bytes[0]! - 1
  out.set(bytes.subarray(1, entry.start), at + 1)
  out.set(bytes.subarray(entry.end), at + entry.start)
  // Made once, checked once: the whole block must come back from it.
  const back = fullForm(out, tree)
  if (back === null || back.length !== bytes.length || Buffer.compare(back, bytes) !== 0) return null
  return out
}

/** A lean form's parts. */
interface LeanRef {
  at: number
  key: string
  d: number
  indexes: number[]
  body: Uint8Array
}

function parseLean(value: Uint8Array): LeanRef {
  let at = 1
  const [sigAt, n1] = varint.decode(value, at)
  at += n1
  const key = Buffer.from(value.buffer, value.byteOffset + at, KEY_BYTES).toString('base64url')
  at += KEY_BYTES
  const [d, n2] = varint.decode(value, at)
  at += n2
  const [steps, n3] = varint.decode(value, at)
  at += n3
  const indexes: number[] = []
  for (let j = 0; j < steps; j++) {
    const [i, n] = varint.decode(value, at)
    indexes.push(i)
    at += n
  }
  return { at: sigAt, key, d, indexes, body: value.subarray(at) }
}

export function isLean(value: Uint8Array): boolean {
  return value[0] === LEAN
}

/** The block's dag-cbor map as stored: the whole block, or a lean one's body (no `sig`). */
export function storedBody(value: Uint8Array): Uint8Array {
  return isLean(value) ? parseLean(value).body : value
}

/** The key of the tree a stored block needs to come back whole (undefined for a whole block). */
export function treeKeyOf(value: Uint8Array): string | undefined {
  return isLean(value) ? parseLean(value).key : undefined
}

/**
 * The whole block from its stored value and its tree (a whole block is returned as it is); null
 * when the tree does not hold what the block names (a tree read before nodes were added to it:
 * read it again).
 */
export function fullForm(value: Uint8Array, tree: SigTree | undefined): Uint8Array | null {
  if (!isLean(value)) return value
  if (tree === undefined) return null
  const ref = parseLean(value)
  const p = new Uint8Array(ref.indexes.length * NODE_BYTES)
  for (let j = 0; j < ref.indexes.length; j++) {
    const i = ref.indexes[j]!
    if (i >= tree.count) return null
    p.set(tree.nodes.subarray(i * NODE_BYTES, (i + 1) * NODE_BYTES), j * NODE_BYTES)
  }
  return spliceEntry(ref.body, ref.at, 'sig', { s: tree.s, p, d: ref.d })
}
