import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { createHash } from 'node:crypto'
import { encodeCbor, encodeCborWithSlot, encodesTo, spliceEntry } from '../../main/db/cbor.ts'
import { cidOf, cidString, sha256 } from '../../main/db/cid.ts'

const SEED = Number(process.env.TANDEM_PROPERTY_SEED ?? 20261128)

const cid = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => cidOf(b))
const leaf = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }), fc.boolean(), fc.constant(null),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }), fc.maxSafeInteger(), fc.maxSafeNat().map((n) => -n),
  fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(2 ** 53 + 2), fc.constant(-0),
  fc.uint8Array({ maxLength: 300 }), cid,
)
const tree = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf,
    fc.array(tie('node'), { maxLength: 30 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), tie('node'), { maxKeys: 30 })),
}))

test('the fast encoder gives exactly the bytes of @ipld/dag-cbor', () => {
  fc.assert(fc.property(tree.node, (v) => {
    let expected: Uint8Array | Error
    try { expected = dagCbor.encode(v) } catch (err) { expected = err as Error }
    if (expected instanceof Error) {
      assert.throws(() => encodeCbor(v))
    } else {
      assert.deepEqual(Buffer.from(encodeCbor(v)), Buffer.from(expected))
    }
  }), { numRuns: 3000, seed: SEED })
})

test('block-shaped values and edge cases encode identically', () => {
  const c = CID.parse('bafyreihzr5e4ywzerlhbkntdtno4koqfrswlxrhmofrzlni5yqgfui62oa')
  const cases: unknown[] = [
    { v: 1, collection: c.toString(), parents: [c, c], height: 2 ** 40, fields: { a: 'x'.repeat(70000), é: [1.5, -1, null] }, nonce: new Uint8Array(16) },
    { a: undefined }, [Number.NaN], { x: Infinity }, new Map([[1, 2]]), 2 ** 64, -(2 ** 64), 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32,
  ]
  for (const v of cases) {
    let expected: Uint8Array | null = null
    try { expected = dagCbor.encode(v) } catch { /* must throw below too */ }
    if (expected === null) assert.throws(() => encodeCbor(v))
    else assert.deepEqual(Buffer.from(encodeCbor(v)), Buffer.from(expected))
  }
})

test('a map encoded with a slot and the entry spliced in gives the bytes of the whole map', () => {
  const map = fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), tree.node, { maxKeys: 20 })
  fc.assert(fc.property(map, fc.string({ unit: 'binary', maxLength: 8 }), tree.node, fc.nat(3), (obj, slot, entry, lead) => {
    delete obj[slot]
    let expected: Uint8Array | null = null
    try { expected = dagCbor.encode({ ...obj, [slot]: entry }) } catch { /* outside dag-cbor */ }
    const enc = encodeCborWithSlot(obj, slot, lead)
    if (enc === null) return // outside the fast subset: the caller falls back to encodeCbor
    assert.deepEqual([...enc.bytes.subarray(0, lead)], new Array(lead).fill(0))
    const body = enc.bytes.subarray(lead)
    assert.deepEqual(Buffer.from(body), Buffer.from(dagCbor.encode(obj)))
    if (expected === null) return
    assert.ok(encodesTo(obj, body))
    let spliced: Uint8Array
    try { spliced = spliceEntry(body, enc.at, slot, entry) } catch { return } // entry outside the subset
    assert.deepEqual(Buffer.from(spliced), Buffer.from(expected))
  }), { numRuns: 2000, seed: SEED })
})

test('cidString gives the string multiformats gives', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
    const c = cidOf(bytes)
    assert.equal(cidString(c.bytes), CID.decode(c.bytes).toString())
    assert.deepEqual(Buffer.from(sha256(bytes)), createHash('sha256').update(bytes).digest())
  }), { numRuns: 500, seed: SEED })
})
