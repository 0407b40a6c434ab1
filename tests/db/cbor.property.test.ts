import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { encodeCbor } from '../../main/db/cbor.ts'
import { cidOf } from '../../main/db/cid.ts'

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
