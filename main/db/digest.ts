/**
 * Head digests, so two devices can tell cheaply whether a collection differs and where. Documents
 * fall into BUCKETS buckets by a stable hash of their docID; a bucket's digest is the XOR of
 * sha256(docID | heads) over its documents, kept up to date inside each apply batch (XOR out the old
 * heads, XOR in the new). A collection's digest hashes its bucket digests. Equal digests mean equal
 * heads, so equal blocks.
 */
import { sha256, sha256Latin1 } from './cid.ts'

export const BUCKETS = 256
export const BUCKET_BYTES = 32
const EMPTY = new Uint8Array(BUCKETS * BUCKET_BYTES)

/** FNV-1a of the docID: stable on every device, cheap, and enough to spread docIDs (CIDs) evenly. */
export function bucketOf(docID: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < docID.length; i++) {
    h ^= docID.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % BUCKETS
}

export function bucketKey(bucket: number): string {
  return bucket.toString(16).padStart(2, '0')
}

export function entryHash(docID: string, heads: readonly string[]): Uint8Array {
  return sha256(Buffer.from(`${docID}|${heads.join(',')}`, 'utf8'))
}

/** `entryHash` as a latin1 string (one UTF-16 unit per byte), without allocating a buffer. */
export function entryHashLatin1(docID: string, heads: readonly string[]): string {
  return sha256Latin1(`${docID}|${heads.length === 1 ? heads[0]! : heads.join(',')}`)
}

/** XORs `hash` into bucket `bucket` of `buckets` (in place). */
export function xorInto(buckets: Uint8Array, bucket: number, hash: Uint8Array): void {
  const off = bucket * BUCKET_BYTES
  for (let i = 0; i < BUCKET_BYTES; i++) buckets[off + i]! ^= hash[i]!
}

export function emptyBuckets(): Uint8Array {
  return new Uint8Array(EMPTY)
}

export function bucketDigest(buckets: Uint8Array, bucket: number): Uint8Array {
  return buckets.subarray(bucket * BUCKET_BYTES, (bucket + 1) * BUCKET_BYTES)
}

export function collectionDigest(buckets: Uint8Array): Uint8Array {
  return sha256(buckets)
}

let emptyDigest: Uint8Array | undefined

/** True for the digest of a collection that holds no document (every bucket empty). */
export function isEmptyCollectionDigest(digest: Uint8Array): boolean {
  emptyDigest ??= collectionDigest(EMPTY)
  return Buffer.compare(digest, emptyDigest) === 0
}
