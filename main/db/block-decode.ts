/**
 * A strict decoder for received blocks that checks canonical form as it reads, so a block need not
 * be encoded again to prove that its bytes are the one encoding of its content (the general decoder
 * plus a re-encode and compare cost ~15 % of the receive path).
 *
 * It accepts only canonical dag-cbor: shortest heads, definite lengths, map keys ASCII text in
 * dag-cbor order (shorter first, then bytewise) and distinct, integers only within the safe range,
 * floats only as float64 of values that are not safe integers, links only as tag 42 over the
 * canonical bytes of a CID, and text valid UTF-8. Anything else — including much that is valid but
 * unusual (non-ASCII keys, a leading BOM, big integers, deep nesting) — returns null, and the caller
 * takes the general path (decode, re-encode, compare), which then accepts or refuses as before. So
 * this path only ever accepts what the general one would, with the same value.
 */
import { isUtf8 } from 'node:buffer'
import { CID } from 'multiformats/cid'
import { slabAlloc } from './cbor.ts'
import { cidString } from './cid.ts'

class Decline extends Error {}
const DECLINE = new Decline()

const MAX_DEPTH = 32
const SIG = 0x73_69_67 // "sig"

let b: Uint8Array = new Uint8Array(0)
/** `b` as a Buffer, for its string readers (one view per block, not one per string). */
let bb: Buffer = Buffer.alloc(0)
let pos = 0
let maj = 0

function head(): number {
  if (pos >= b.length) throw DECLINE
  const first = b[pos++]!
  maj = first >> 5
  const info = first & 31
  if (info < 24) return info
  let n: number
  if (info === 24) {
    if (pos + 1 > b.length) throw DECLINE
    n = b[pos]!
    pos += 1
    if (n < 24) throw DECLINE
  } else if (info === 25) {
    if (pos + 2 > b.length) throw DECLINE
    n = (b[pos]! << 8) | b[pos + 1]!
    pos += 2
    if (n < 0x100) throw DECLINE
  } else if (info === 26) {
    if (pos + 4 > b.length) throw DECLINE
    n = ((b[pos]! << 24) >>> 0) + (b[pos + 1]! << 16) + (b[pos + 2]! << 8) + b[pos + 3]!
    pos += 4
    if (n < 0x10000) throw DECLINE
  } else if (info === 27) {
    if (pos + 8 > b.length) throw DECLINE
    const hi = ((b[pos]! << 24) >>> 0) + (b[pos + 1]! << 16) + (b[pos + 2]! << 8) + b[pos + 3]!
    const lo = ((b[pos + 4]! << 24) >>> 0) + (b[pos + 5]! << 16) + (b[pos + 6]! << 8) + b[pos + 7]!
    pos += 8
    if (hi === 0 || hi >= 0x200000) throw DECLINE // not shortest, or beyond the safe integers
    n = hi * 0x100000000 + lo
  } else {
    throw DECLINE // indefinite lengths and reserved forms
  }
  return n
}

/** The major type of the last head read (a call, so that type narrowing does not stick to it). */
function major(): number {
  return maj
}

function copyBytes(n: number): Uint8Array {
  if (pos + n > b.length) throw DECLINE
  const out = slabAlloc(n)
  out.set(b.subarray(pos, pos + n))
  pos += n
  return out
}

function text(n: number): string {
  if (pos + n > b.length) throw DECLINE
  const start = pos
  let ascii = true
  for (let i = start; i < start + n; i++) if (b[i]! >= 0x80) { ascii = false; break }
  pos += n
  if (ascii) return bb.toString('latin1', start, start + n)
  // A leading BOM is dropped by the general decoder (TextDecoder): leave such text to it.
  if (!isUtf8(b.subarray(start, start + n)) || (n >= 3 && b[start] === 0xef && b[start + 1] === 0xbb && b[start + 2] === 0xbf)) throw DECLINE
  return bb.toString('utf8', start, start + n)
}

function item(depth: number): unknown {
  if (depth > MAX_DEPTH) throw DECLINE
  if (pos >= b.length) throw DECLINE
  const first = b[pos]!
  if (first >= 0xe0) { // major 7
    pos++
    if (first === 0xf4) return false
    if (first === 0xf5) return true
    if (first === 0xf6) return null
    if (first === 0xfb) {
      if (pos + 8 > b.length) throw DECLINE
      const v = Buffer.from(b.buffer, b.byteOffset + pos, 8).readDoubleBE(0)
      pos += 8
      if (!Number.isFinite(v) || Number.isSafeInteger(v)) throw DECLINE // encoders write these otherwise
      return v
    }
    throw DECLINE
  }
  const n = head()
  switch (maj) {
    case 0: return n
    case 1: if (n >= Number.MAX_SAFE_INTEGER) throw DECLINE; return -1 - n
    case 2: return copyBytes(n)
    case 3: return text(n)
    case 4: {
      if (n > b.length - pos) throw DECLINE
      const out = new Array<unknown>(n)
      for (let i = 0; i < n; i++) out[i] = item(depth + 1)
      return out
    }
    case 5: return map(n, depth, null)
    case 6: {
      if (n !== 42) throw DECLINE
      const len = head()
      if (major() !== 2 || len < 2 || pos + len > b.length || b[pos] !== 0) throw DECLINE
      pos++
      const raw = copyBytes(len - 1)
      let cid: CID
      try {
        cid = CID.decode(raw)
      } catch {
        throw DECLINE
      }
      if (cid.bytes.length !== raw.length || cid.version !== 1) throw DECLINE
      for (let i = 0; i < raw.length; i++) if (cid.bytes[i] !== raw[i]) throw DECLINE
      return cid
    }
    default: throw DECLINE
  }
}

// Map keys repeat (block fields, document fields): short ones are kept by length and first and last
// byte, and reused when every byte matches, so a key costs no new string.
const keys = new Map<number, string>()
const MAX_KEYS = 4096

function keyString(at: number, n: number): string {
  if (n === 0 || n > 32) return bb.toString('latin1', at, at + n)
  const slot = (n << 16) | (b[at]! << 8) | b[at + n - 1]!
  const known = keys.get(slot)
  if (known !== undefined && known.length === n) {
    let same = true
    for (let i = 1; i < n - 1; i++) if (known.charCodeAt(i) !== b[at + i]) { same = false; break }
    if (same) return known
  }
  const key = bb.toString('latin1', at, at + n)
  if (known === undefined && keys.size < MAX_KEYS) keys.set(slot, key)
  return key
}

// A block's collection, schema version and author repeat from block to block (a frame of blocks
// has one or a few of each): the last value of each is reused when every byte matches, so most
// blocks cost none of these three strings (~170 bytes).
const REPEATED = new Set(['collection', 'schema', 'author'])
const lastText = new Map<string, string>()

/** A text item (its head not read yet) under top-level `key`: the last one when the bytes match. */
function repeatedText(key: string): string {
  const n = head()
  if (pos + n > b.length) throw DECLINE
  const last = lastText.get(key)
  if (last !== undefined && last.length === n) {
    let same = true
    for (let i = 0; i < n; i++) if (last.charCodeAt(i) !== b[pos + i]) { same = false; break }
    if (same) { pos += n; return last }
  }
  const value = text(n)
  // As many characters as bytes: ASCII, so the byte comparison above holds for it.
  if (value.length === n) lastText.set(key, value)
  return value
}

/** Where the top-level `sig` entry lies: [start, end) in the bytes. */
const sigAt = { start: -1, end: -1 }

function map(n: number, depth: number, sig: typeof sigAt | null): Record<string, unknown> {
  if (n > b.length - pos) throw DECLINE
  const out: Record<string, unknown> = {}
  let prevAt = -1
  let prevLen = -1
  for (let i = 0; i < n; i++) {
    const entryAt = pos
    const kn = head()
    if (maj !== 3 || pos + kn > b.length) throw DECLINE
    const at = pos
    // dag-cbor order: shorter keys first, then bytewise; strictly, so keys are distinct.
    if (kn < prevLen) throw DECLINE
    if (kn === prevLen) {
      let c = 0
      for (let j = 0; j < kn && c === 0; j++) c = b[at + j]! - b[prevAt + j]!
      if (c <= 0) throw DECLINE
    }
    for (let j = at; j < at + kn; j++) if (b[j]! >= 0x80) throw DECLINE
    prevAt = at
    prevLen = kn
    const key = keyString(at, kn)
    if (key === '__proto__') throw DECLINE
    pos += kn
    const value = sig !== null && REPEATED.has(key) && b[pos]! >> 5 === 3 ? repeatedText(key) : item(depth + 1)
    out[key] = value
    if (sig !== null && kn === 3 && ((b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!) === SIG) {
      sig.start = entryAt
      sig.end = pos
    }
  }
  return out
}

export interface FastBlock {
  /** The decoded value: what @ipld/dag-cbor's decode gives for these bytes. */
  value: Record<string, unknown>
  /** The canonical encoding of the value without its `sig` entry, after one zero byte (the leaf form). */
  leafInput: Uint8Array
}

let leafScratch = Buffer.allocUnsafeSlow(4096)

/**
 * Decodes `bytes` when they are canonical dag-cbor of a map of fewer than 24 entries with a `sig`
 * entry, and gives the bytes its signature leaf hashes; null when the general path must decide.
 * `leafInput` is a scratch view, valid until the next call.
 */
export function decodeCanonicalBlock(bytes: Uint8Array): FastBlock | null {
  b = bytes
  bb = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  pos = 0
  sigAt.start = sigAt.end = -1
  try {
    if (bytes.length === 0) return null
    const first = bytes[0]!
    if (first < 0xa1 || first > 0xb7) return null // a map of 1..23 entries, one-byte head
    pos = 1
    const value = map(first & 31, 0, sigAt)
    if (pos !== bytes.length || sigAt.start < 0) return null
    // The unsigned block's bytes: the same map with one entry fewer (still a one-byte head).
    const n = bytes.length - (sigAt.end - sigAt.start) + 1
    if (leafScratch.length < n) leafScratch = Buffer.allocUnsafeSlow(Math.max(n, 2 * leafScratch.length))
    leafScratch[0] = 0
    leafScratch[1] = first - 1
    leafScratch.set(bytes.subarray(1, sigAt.start), 2)
    leafScratch.set(bytes.subarray(sigAt.end), 1 + sigAt.start)
    return { value, leafInput: leafScratch.subarray(0, n) }
  } catch (err) {
    if (err instanceof Decline) return null
    throw err
  } finally {
    b = EMPTY
    bb = EMPTY_BUFFER
  }
}

const EMPTY = new Uint8Array(0)
const EMPTY_BUFFER = Buffer.alloc(0)

// ---- links only: what DAG walks read of a stored block ----

const HEIGHT = Buffer.from('height')
const PARENTS = Buffer.from('parents')
const COLLECTION = Buffer.from('collection')

function isKey(bytes: Uint8Array, at: number, key: Uint8Array): boolean {
  for (let i = 0; i < key.length; i++) if (bytes[at + i] !== key[i]) return false
  return true
}

// The links scanner's cursor: module state, so the scan allocates nothing but its result (a
// scan runs to completion synchronously, so no two scans share it).
let sBytes: Uint8Array = new Uint8Array(0)
let sPos = 0
let sMajor = 0

/** Reads one CBOR head: sets sMajor, returns its argument. */
function sHead(): number {
  const b = sBytes[sPos++]!
  sMajor = b >> 5
  const info = b & 31
  if (info < 24) return info
  const at = sPos
  if (info === 24) { sPos += 1; return sBytes[at]! }
  if (info === 25) { sPos += 2; return (sBytes[at]! << 8) | sBytes[at + 1]! }
  if (info === 26) { sPos += 4; return ((sBytes[at]! << 24) >>> 0) + (sBytes[at + 1]! << 16) + (sBytes[at + 2]! << 8) + sBytes[at + 3]! }
  if (info === 27) {
    sPos += 8
    const hi = ((sBytes[at]! << 24) >>> 0) + (sBytes[at + 1]! << 16) + (sBytes[at + 2]! << 8) + sBytes[at + 3]!
    const lo = ((sBytes[at + 4]! << 24) >>> 0) + (sBytes[at + 5]! << 16) + (sBytes[at + 6]! << 8) + sBytes[at + 7]!
    return hi * 2 ** 32 + lo
  }
  throw new Error('unsupported CBOR head')
}

/** The major type of the last head `sHead` read (a call, so that type narrowing does not stick to it). */
function sMajorNow(): number {
  return sMajor
}

function sSkip(): void {
  const n = sHead()
  const major = sMajor
  if (major === 2 || major === 3) sPos += n
  else if (major === 4) for (let i = 0; i < n; i++) sSkip()
  else if (major === 5) for (let i = 0; i < 2 * n; i++) sSkip()
  else if (major === 6) sSkip()
  if (sPos > sBytes.length) throw new Error('truncated')
}

/**
 * The height, parents and collection of a stored (canonical) block, read from its bytes with no
 * decode; throws on anything it does not expect (blockLinks in block.ts then decodes in full).
 */
export function scanLinks(bytes: Uint8Array): { height: number; parents: string[]; collection: string } {
  sBytes = bytes
  sPos = 0
  const entries = sHead()
  if (sMajorNow() !== 5) throw new Error('not a map')
  let height = -1
  let parents: string[] | null = null
  let collection: string | null = null
  for (let e = 0; e < entries; e++) {
    const kn = sHead()
    if (sMajorNow() !== 3) throw new Error('key is not a string')
    const at = sPos
    sPos += kn
    if (kn === 6 && isKey(bytes, at, HEIGHT)) {
      height = sHead()
      if (sMajorNow() !== 0) throw new Error('height is not an integer')
    } else if (kn === 7 && isKey(bytes, at, PARENTS)) {
      const n = sHead()
      if (sMajorNow() !== 4) throw new Error('parents is not a list')
      parents = []
      for (let i = 0; i < n; i++) {
        const tag = sHead()
        if (sMajorNow() !== 6 || tag !== 42) throw new Error('a parent is not a CID')
        const len = sHead()
        if (sMajorNow() !== 2 || bytes[sPos] !== 0) throw new Error('a parent is not a CID')
        parents.push(cidString(bytes.subarray(sPos + 1, sPos + len)))
        sPos += len
      }
    } else if (kn === 10 && isKey(bytes, at, COLLECTION)) {
      const n = sHead()
      if (sMajorNow() !== 3) throw new Error('collection is not a string')
      collection = Buffer.from(bytes.buffer, bytes.byteOffset + sPos, n).toString('latin1')
      sPos += n
    } else {
      sSkip()
    }
    if (sPos > bytes.length) throw new Error('truncated')
  }
  sBytes = EMPTY_BYTES
  if (height < 1 || parents === null || collection === null) throw new Error('no height, parents or collection')
  return { height, parents, collection }
}

const EMPTY_BYTES = new Uint8Array(0)
