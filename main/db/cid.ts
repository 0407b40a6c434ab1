/** CIDv1, dag-cbor, sha2-256: the one kind of CID Tandem makes. Hashing is synchronous (node:crypto). */
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import * as dagCbor from '@ipld/dag-cbor'

const SHA2_256 = 0x12

export function sha256(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest()
}

export function cidOf(bytes: Uint8Array): CID {
  return CID.createV1(dagCbor.code, Digest.create(SHA2_256, sha256(bytes)))
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
