/**
 * The floor of Tandem's format for W1 (bench/run.ts): the signed block floor (block-floor.ts
 * `signedFloorOps`, blocks that verify alone, stored lean) with what a store of Tandem's format
 * writes besides its blocks, each made by Tandem's own code, at the least:
 *
 * - each document checked against its collection's schema (main/db/validate.ts), as any store of
 *   schema-bound collections checks what it is given, and its block built of the checked fields;
 * - its record — the fields, each field's stamp, the heads (main/db/crdt.ts `applyToRecord`) —
 *   encoded by Tandem's record codec and stored under Tandem's record key, for reads and queries;
 * - its head digest entry (main/db/digest.ts) XORed into its bucket; each call then writes the
 *   collection's bucket digests (kept in memory between calls, as Tandem's store keeps them) and its
 *   count, for the head exchange.
 *
 * Given free against Tandem: its larger blocks (collection, schema version, author's device, time,
 * nonce, height and parents besides the fields), its 63-character docIDs (20 here), its transaction
 * (reads of what is stored, the overlay, the batch built key by key), the index of heads, change
 * events. So no store of Tandem's format does less for a new document. Like W1, a call of 1000 is one
 * atomic `batch()`, acknowledged before the next call starts.
 */
import { deepStrictEqual } from 'node:assert'
import type { BlockCID, CollectionSchema } from '../shared/types.ts'
import type { UnsignedBlock } from '../main/db/block.ts'
import { cidString } from '../main/db/cid.ts'
import { applyToRecord } from '../main/db/crdt.ts'
import { BUCKET_BYTES, BUCKETS, bucketKey, bucketOf, entryHashLatin1 } from '../main/db/digest.ts'
import { decodeRecord, encodeRecord } from '../main/db/record-codec.ts'
import { validateFields } from '../main/db/validate.ts'
import { signedFloorOps, type FloorSigner, type Op } from './block-floor.ts'
import type { Doc } from './common.ts'

/** The collection a call writes to, and the time its records are stamped with. */
export interface FormatContext { schema: CollectionSchema; collection: string; time: number }

/** One call's pairs (blocks, chunk records, document records) and its documents' digest entries XORed by bucket. */
export interface FormatCall { ops: Op[]; delta: Uint8Array }

/** The pairs of one call of `docs` (IDs `ids`) but the digests and the count, which `FormatFloorState.finish` adds. */
export function formatFloorOps(docs: readonly Doc[], ids: readonly string[], signer: FloorSigner, ctx: FormatContext): FormatCall {
  const fields = new Array<Doc>(docs.length)
  for (let i = 0; i < docs.length; i++) fields[i] = validateFields(ctx.schema, docs[i], 'create') as unknown as Doc
  const cids: Uint8Array[] = []
  const ops = signedFloorOps(fields, ids, signer, false, cids)
  const delta = new Uint8Array(BUCKETS * BUCKET_BYTES)
  const block = { fields: {}, height: 1, time: ctx.time, parents: [] } as unknown as UnsignedBlock
  const prefix = `!docs!${ctx.collection}!`
  for (let i = 0; i < docs.length; i++) {
    const id = ids[i]!
    const cid = cidString(cids[i]!) as BlockCID // what `blockCID` gives for the block's CID, from its bytes
    block.fields = fields[i] as unknown as UnsignedBlock['fields']
    const record = encodeRecord(applyToRecord(undefined, block, cid))
    const bucket = bucketOf(id)
    ops.push({ type: 'put', key: Buffer.from(`${prefix}${bucketKey(bucket)}!${id}`, 'latin1'), value: Buffer.from(record, 'utf8') })
    const h = entryHashLatin1(id, [cid])
    for (let j = 0, at = bucket * BUCKET_BYTES; j < BUCKET_BYTES; j++) delta[at + j]! ^= h.charCodeAt(j)
  }
  return { ops, delta }
}

/** A store's bucket digests and count of one collection, carried from call to call. */
export class FormatFloorState {
  readonly #buckets = new Uint8Array(BUCKETS * BUCKET_BYTES)
  readonly #digestKeys: Uint8Array[]
  readonly #countKey: Uint8Array
  #count = 0

  constructor(collection: string) {
    this.#digestKeys = Array.from({ length: BUCKETS }, (_, b) => Buffer.from(`!digests!${collection}!${bucketKey(b)}`, 'latin1'))
    this.#countKey = Buffer.from(`!counts!${collection}`, 'latin1')
  }

  /** Adds to a call's pairs the digests of the buckets its documents fall in, and the new count. */
  finish(call: FormatCall, docs: number): Op[] {
    const { ops, delta } = call
    for (let b = 0; b < BUCKETS; b++) {
      const at = b * BUCKET_BYTES
      let touched = false
      for (let j = 0; j < BUCKET_BYTES; j++) {
        if (delta[at + j] !== 0) {
          touched = true
          this.#buckets[at + j]! ^= delta[at + j]!
        }
      }
      if (touched) ops.push({ type: 'put', key: this.#digestKeys[b]!, value: this.#buckets.slice(at, at + BUCKET_BYTES) })
    }
    this.#count += docs
    ops.push({ type: 'put', key: this.#countKey, value: Buffer.from(String(this.#count), 'latin1') })
    return ops
  }
}

/** XORs `b` into `a` (the digest entries of a call built on two threads). */
export function xorInto(a: Uint8Array, b: Uint8Array): Uint8Array {
  for (let i = 0; i < a.length; i++) a[i]! ^= b[i]!
  return a
}

/**
 * Checks (untimed) that a call's records are what they claim: each decodes to its document's fields,
 * stamped by and headed by the block stored under the CID it names, under its bucket's key.
 */
export function checkFormatFloorOps(docs: readonly Doc[], ids: readonly string[], signer: FloorSigner, ctx: FormatContext): void {
  const { ops, delta } = formatFloorOps(docs, ids, signer, ctx)
  const want = new Uint8Array(BUCKETS * BUCKET_BYTES)
  const blocks = new Set(ops.filter((op) => op.key.length === 36).map((op) => cidString(op.key)))
  const records = ops.filter((op) => Buffer.from(op.key).toString('latin1').startsWith('!docs!'))
  if (records.length !== docs.length) throw new Error(`format floor: ${records.length} records for ${docs.length} documents`)
  records.forEach((op, i) => {
    const rec = decodeRecord(Buffer.from(op.value).toString('utf8'))
    const key = `!docs!${ctx.collection}!${bucketKey(bucketOf(ids[i]!))}!${ids[i]}`
    if (Buffer.from(op.key).toString('latin1') !== key) throw new Error(`format floor: record ${i} under the wrong key`)
    deepStrictEqual(rec.v, { ...docs[i] }, `format floor: record ${i} holds its document's fields`)
    if (rec.heads.length !== 1 || !blocks.has(rec.heads[0]!) || rec.c[0] !== rec.heads[0]) throw new Error(`format floor: record ${i} is not headed by its stored block`)
    if (Object.values(rec.w).some(([height, at]) => height !== 1 || at !== 0)) throw new Error(`format floor: record ${i}'s fields are not stamped by its block`)
    const h = entryHashLatin1(ids[i]!, rec.heads)
    for (let j = 0, at = bucketOf(ids[i]!) * BUCKET_BYTES; j < BUCKET_BYTES; j++) want[at + j]! ^= h.charCodeAt(j)
  })
  deepStrictEqual(delta, want, 'format floor: the digest entries are the records\' heads')
}
