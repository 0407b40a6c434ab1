/** CIDv1, dag-cbor, sha2-256: the one kind of CID Tandem makes. Hashing is synchronous (node:crypto). */
import { hash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import * as dagCbor from '@ipld/dag-cbor'
import { slabAlloc, writeLatin1 } from './cbor.ts'

const SHA2_256 = 0x12

// node:crypto's one-shot hash returns a string several times faster than a Buffer (no ArrayBuffer
// to allocate): hot paths take the digest as latin1 (one UTF-16 unit per byte) and copy it where
// it goes.

export function sha256(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(32)
  writeLatin1(out, 0, hash('sha256', bytes, 'binary'))
  return out
}

/** sha256 of `bytes` as a latin1 string of 32 units. */
export function sha256Latin1(bytes: Uint8Array | string): string {
  return hash('sha256', bytes, 'binary')
}

// CIDv1 dag-cbor sha2-256: version 1, codec 0x71, multihash 0x12 of 32 bytes, then the digest.
const CID_PREFIX = [0x01, dagCbor.code, SHA2_256, 32]

const BASE32 = Array.from('abcdefghijklmnopqrstuvwxyz234567', (c) => c.charCodeAt(0))
const chars = Buffer.alloc(128)

/**
 * The string of a CID from its bytes (multibase base32, as `CID#toString()` gives), several times
 * faster than multiformats' encoder and its per-CID cache.
 */
export function cidString(bytes: Uint8Array): string {
  if (bytes.length > 75) return CID.decode(bytes).toString()
  let n = 0
  chars[n++] = 0x62 // 'b'
  let bits = 0
  let value = 0
  for (let i = 0; i < bytes.length; i++) {
    value = ((value << 8) | bytes[i]!) & 0xffff
    bits += 8
    while (bits >= 5) {
      bits -= 5
      chars[n++] = BASE32[(value >>> bits) & 31]!
    }
  }
  if (bits > 0) chars[n++] = BASE32[(value << (5 - bits)) & 31]!
  return chars.toString('latin1', 0, n)
}

export function cidOf(bytes: Uint8Array): CID {
  const raw = slabAlloc(36)
  raw[0] = CID_PREFIX[0]!
  raw[1] = CID_PREFIX[1]!
  raw[2] = CID_PREFIX[2]!
  raw[3] = CID_PREFIX[3]!
  writeLatin1(raw, 4, hash('sha256', bytes, 'binary'))
  return new CID(1, dagCbor.code, new Digest.Digest(SHA2_256, 32, raw.subarray(4), raw.subarray(2)), raw)
}

/** Parses a CID string, or returns null when it is not one of ours. */
export function parseCID(s: unknown): CID | null {
  if (typeof s !== 'string' || s.length > 128) return null
  try {
    const cid = CID.parse(s)
    return cid.version === 1 && cid.code === dagCbor.code && cid.multihash.code === SHA2_256 ? cid : null
  } catch {
    return null
  }
}

/** True when `cid` is one of ours (CIDv1, dag-cbor, sha2-256 of 32 bytes), without encoding it. */
export function isOurCID(cid: CID): boolean {
  return cid.version === 1 && cid.code === dagCbor.code && cid.multihash.code === SHA2_256 && cid.multihash.size === 32 && cid.bytes.length === 36
}

// CID strings found valid: every block of a collection names the same collection and schema, and
// every edit of a document its docID, so these repeat (a parse costs a base32 decode).
const validCIDStrings = new Set<string>()

/** `parseCID(s) !== null`, remembering strings found valid. */
export function isCIDString(s: unknown): boolean {
  if (typeof s !== 'string') return false
  if (validCIDStrings.has(s)) return true
  if (parseCID(s) === null) return false
  if (validCIDStrings.size >= 4096) validCIDStrings.clear()
  validCIDStrings.add(s)
  return true
}

const BASE32_VALUE: Record<string, number> = {}
'abcdefghijklmnopqrstuvwxyz234567'.split('').forEach((c, i) => { BASE32_VALUE[c] = i })

/**
 * Orders two CID strings as their bytes would order. Our CIDs share version, codec and hash, so their
 * base32 strings have equal length and compare digit by digit — but by digit value, not by ASCII
 * (in ASCII '2'..'7' sort before 'a', yet they are the digits 26..31).
 */
export function compareCIDStrings(a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const ca = a[i]!
    const cb = b[i]!
    if (ca !== cb) return (BASE32_VALUE[ca] ?? -1) - (BASE32_VALUE[cb] ?? -1)
  }
  return a.length - b.length
}
