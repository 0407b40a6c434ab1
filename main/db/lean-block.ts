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
 * whole block comes back, byte for byte, by writing the entry back at `at` (`fullForm`)
 * — checked when the lean form is made, so a block that would not come back whole stays whole.
 * A whole block starts with a CBOR map head (0xa0–0xbf), never 0x00: the two forms live side by side.
 *
 * A tree's key is the first 12 bytes of its signature; a tree record whose signature differs in the
 * other 52 bytes (no honest pair of batches does) leaves the block whole. Blocks whose proof has
 * fewer than two steps (an edit written alone, a pair) stay whole: a reference would not be shorter.
 * When a block is stored lean, and trees are written once (stored-blocks.ts), is up to the caller.
 */
import { slabAlloc } from './cbor.ts'

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
  /**
   * The nodes by their first four bytes (as an unsigned integer) → index, built when a block is
   * added: no string per node. Two nodes that share their first four bytes (one tree in ~10^6 of
   * 126 nodes) are told apart by comparing them whole (`nodeIndex`).
   */
  index?: Map<number, number>
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
  return keyAt(s, 0)
}

const BASE64URL = Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', (c) => c.charCodeAt(0))
const keyCodes = new Array<number>(16)

/**
 * The base64url text of the KEY_BYTES (12) bytes at `at`: what Buffer's encoder gives, without a
 * Buffer view to make (a third of the time; every block a sync sends or receives names one).
 */
function keyAt(bytes: Uint8Array, at: number): string {
  for (let i = at, j = 0; i < at + KEY_BYTES; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    keyCodes[j++] = BASE64URL[n >>> 18]!
    keyCodes[j++] = BASE64URL[(n >>> 12) & 63]!
    keyCodes[j++] = BASE64URL[(n >>> 6) & 63]!
    keyCodes[j++] = BASE64URL[n & 63]!
  }
  return String.fromCharCode.apply(null, keyCodes)
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
    for (let i = tree.count - 1; i >= 0; i--) index.set(prefixOf(tree.nodes, i * NODE_BYTES), i)
    tree.index = index
  }
  const prefix = prefixOf(p, at)
  const found = index.get(prefix)
  if (found !== undefined) {
    if (sameNode(tree.nodes, found * NODE_BYTES, p, at)) return found
    // Another node with the same first four bytes: look through them all (this is rare enough).
    for (let i = 0; i < tree.count; i++) if (sameNode(tree.nodes, i * NODE_BYTES, p, at)) return i
  }
  const i = tree.count
  if ((i + 1) * NODE_BYTES > tree.nodes.length) {
    const grown = new Uint8Array(Math.max(8, 2 * (i + 1)) * NODE_BYTES)
    grown.set(tree.nodes.subarray(0, i * NODE_BYTES))
    tree.nodes = grown
  }
  tree.nodes.set(p.subarray(at, at + NODE_BYTES), i * NODE_BYTES)
  tree.count = i + 1
  if (found === undefined) index.set(prefix, i)
  return i
}

function prefixOf(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
}

function sameNode(a: Uint8Array, at: number, b: Uint8Array, bt: number): boolean {
  for (let i = 0; i < NODE_BYTES; i++) if (a[at + i] !== b[bt + i]) return false
  return true
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
  const start = at
  at += 4
  // The entry's value, the canonical map {d, p, s} of this very signature: checked byte by byte
  // here, so that writing it back (`fullForm`) gives these bytes again.
  if (bytes[at] !== 0xa3 || bytes[at + 1] !== 0x61 || bytes[at + 2] !== 0x64) return null // map(3), "d"
  at = uintAt(bytes, at + 3, 0, sig.d)
  if (at < 0 || bytes[at] !== 0x61 || bytes[at + 1] !== 0x70) return null // "p"
  at = uintAt(bytes, at + 2, 0x40, sig.p.length)
  if (at < 0 || !sameBytes(bytes, at, sig.p)) return null
  at += sig.p.length
  if (bytes[at] !== 0x61 || bytes[at + 1] !== 0x73) return null // "s"
  at = uintAt(bytes, at + 2, 0x40, sig.s.length)
  if (at < 0 || !sameBytes(bytes, at, sig.s)) return null
  return { start, end: at + sig.s.length }
}

/** Where the canonical head of major type `major` (0x00 or 0x40) with argument `n` ends at `at`; -1 when the bytes differ. */
function uintAt(bytes: Uint8Array, at: number, major: number, n: number): number {
  if (n < 24) return bytes[at] === (major | n) ? at + 1 : -1
  if (n < 0x100) return bytes[at] === (major | 24) && bytes[at + 1] === n ? at + 2 : -1
  if (n < 0x10000) return bytes[at] === (major | 25) && bytes[at + 1] === n >> 8 && bytes[at + 2] === (n & 0xff) ? at + 3 : -1
  if (n < 0x100000000) {
    return bytes[at] === (major | 26) && ((bytes[at + 1]! << 24) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!) >>> 0 === n ? at + 5 : -1
  }
  return -1
}

function sameBytes(bytes: Uint8Array, at: number, part: Uint8Array): boolean {
  if (at + part.length > bytes.length) return false
  for (let i = 0; i < part.length; i++) if (bytes[at + i] !== part[i]) return false
  return true
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
  const indexes = scratch.length >= steps ? scratch : (scratch = new Array<number>(steps))
  let headLength = 1 + varintLength(entry.start) + KEY_BYTES + varintLength(sig.d) + varintLength(steps)
  for (let j = 0; j < steps; j++) headLength += varintLength(indexes[j] = nodeIndex(tree, sig.p, j * NODE_BYTES))
  // From the encoder's slab (cbor.ts): one allocation per many blocks, not one each.
  const buf = slabAlloc(headLength + bodyLength)
  buf[0] = LEAN
  let at = writeVarint(buf, 1, entry.start)
  for (let i = 0; i < KEY_BYTES; i++) buf[at + i] = sig.s[i]!
  at = writeVarint(buf, at + KEY_BYTES, sig.d)
  at = writeVarint(buf, at, steps)
  for (let j = 0; j < steps; j++) at = writeVarint(buf, at, indexes[j]!)
  buf[at] = bytes[0]! - 1
  buf.set(bytes.subarray(1, entry.start), at + 1)
  buf.set(bytes.subarray(entry.end), at + entry.start)
  // The entry cut out was checked to be the canonical encoding of this signature (sigEntry), and
  // the tree keeps its proof's nodes as they are: splicing it back gives the very bytes again
  // (tests/db/lean-block.test.ts reads every block back and checks it against its CID).
  return buf
}

let scratch: number[] = new Array<number>(32)

function varintLength(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5
}

/** Writes `n` as an unsigned LEB128 varint (multiformats' varint) at `at`; returns where it ends. */
function writeVarint(buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 128)
  }
  buf[at++] = n
  return at
}

// Where the last `readVarint` ended (so reading a varint allocates nothing).
let cursor = 0

/** The unsigned LEB128 varint at `at` (multiformats' varint); `cursor` is set to where it ends. */
function readVarint(bytes: Uint8Array, at: number): number {
  let n = 0
  let scale = 1
  for (;;) {
    const b = bytes[at++]
    if (b === undefined || scale > 2 ** 28) throw new RangeError('a lean block whose head is cut short or malformed')
    n += (b & 0x7f) * scale
    if (b < 0x80) break
    scale *= 128
  }
  cursor = at
  return n
}

/** Where a lean form's body starts (after its head: `at`, tree key, `d`, the node indexes). */
function bodyStart(value: Uint8Array): number {
  readVarint(value, 1)
  readVarint(value, cursor + KEY_BYTES)
  const steps = readVarint(value, cursor)
  let at = cursor
  for (let j = 0; j < steps; j++) { readVarint(value, at); at = cursor }
  return at
}

export function isLean(value: Uint8Array): boolean {
  return value[0] === LEAN
}

/** The block's dag-cbor map as stored: the whole block, or a lean one's body (no `sig`). */
export function storedBody(value: Uint8Array): Uint8Array {
  return isLean(value) ? value.subarray(bodyStart(value)) : value
}

/** The key of the tree a stored block needs to come back whole (undefined for a whole block). */
export function treeKeyOf(value: Uint8Array): string | undefined {
  if (!isLean(value)) return undefined
  let at = 1
  while ((value[at]! & 0x80) !== 0) at++ // the varint before it
  return keyAt(value, at + 1)
}

/**
 * The whole block from its stored value and its tree (a whole block is returned as it is); null
 * when the tree does not hold what the block names (a damaged store). The `sig` entry is written
 * straight into the block's bytes as sigEntry checked it was: {d, p, s}, canonical. The lean head
 * is read in place, twice (to size the block, then to copy its nodes): nothing is allocated but
 * the block itself.
 */
export function fullForm(value: Uint8Array, tree: SigTree | undefined): Uint8Array | null {
  if (!isLean(value)) return value
  if (tree === undefined) return null
  const sigAt = readVarint(value, 1)
  const d = readVarint(value, cursor + KEY_BYTES)
  const steps = readVarint(value, cursor)
  const indexesAt = cursor
  let at = indexesAt
  for (let j = 0; j < steps; j++) {
    if (readVarint(value, at) >= tree.count) return null
    at = cursor
  }
  const body = at // the body: value[body..], its map head at value[body]
  const bodyLength = value.length - body
  if (sigAt < 1 || sigAt > bodyLength) return null
  const pLength = steps * NODE_BYTES
  const entryLength = 4 + 3 + headLength(d) + 2 + headLength(pLength) + pLength + 2 + headLength(tree.s.length) + tree.s.length
  const out = slabAlloc(bodyLength + entryLength)
  out[0] = value[body]! + 1
  for (let i = 1; i < sigAt; i++) out[i] = value[body + i]!
  at = sigAt
  out[at++] = 0x63; out[at++] = 0x73; out[at++] = 0x69; out[at++] = 0x67 // "sig"
  out[at++] = 0xa3; out[at++] = 0x61; out[at++] = 0x64 // map(3), "d"
  at = writeHead(out, at, 0x00, d)
  out[at++] = 0x61; out[at++] = 0x70 // "p"
  at = writeHead(out, at, 0x40, pLength)
  const nodes = tree.nodes
  let index = indexesAt
  for (let j = 0; j < steps; j++) {
    const from = readVarint(value, index) * NODE_BYTES
    index = cursor
    for (let k = 0; k < NODE_BYTES; k++) out[at + k] = nodes[from + k]!
    at += NODE_BYTES
  }
  out[at++] = 0x61; out[at++] = 0x73 // "s"
  at = writeHead(out, at, 0x40, tree.s.length)
  out.set(tree.s, at)
  at += tree.s.length
  out.set(value.subarray(body + sigAt), at)
  return out
}

function headLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5
}

/** A canonical CBOR head of major type `major` (0x00 or 0x40) with argument `n` (< 2^32) at `at`; returns where it ends. */
function writeHead(out: Uint8Array, at: number, major: number, n: number): number {
  if (n < 24) { out[at] = major | n; return at + 1 }
  if (n < 0x100) { out[at] = major | 24; out[at + 1] = n; return at + 2 }
  if (n < 0x10000) { out[at] = major | 25; out[at + 1] = n >> 8; out[at + 2] = n & 0xff; return at + 3 }
  out[at] = major | 26
  out[at + 1] = (n >>> 24) & 0xff; out[at + 2] = (n >>> 16) & 0xff; out[at + 3] = (n >>> 8) & 0xff; out[at + 4] = n & 0xff
  return at + 5
}
