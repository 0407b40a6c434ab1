/**
 * The stored document record (db/record-codec.ts): what is encoded decodes to the same record, and
 * `recordHeads`, which cuts the heads out of the text without parsing the fields, gives exactly the
 * heads a full decode gives, whatever the field values hold (brackets, quotes, nesting).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeRecord, encodeRecord, recordHeads } from '../../main/db/record-codec.ts'
import type { DocRecord } from '../../main/db/crdt.ts'
import type { BlockCID } from '../../shared/types.ts'

const cid = fc.stringMatching(/^bafyrei[a-z2-7]{52}$/).map((s) => s as BlockCID)
const value = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown) // JSON's own view (-0 → 0)

const record: fc.Arbitrary<DocRecord> = fc.record({
  v: fc.dictionary(fc.string({ maxLength: 8 }), value, { maxKeys: 5 }),
  c: fc.uniqueArray(cid, { minLength: 0, maxLength: 4 }),
  extra: fc.uniqueArray(cid, { minLength: 0, maxLength: 3 }),
  pick: fc.array(fc.nat(), { maxLength: 4 }),
  h: fc.integer({ min: 1, max: 1e6 }),
  deleted: fc.boolean(),
  createdAt: fc.nat(),
  updatedAt: fc.nat(),
  // Conflicts (maximal writes of a field, crdt.ts `x`): a record with them has a ninth entry.
  x: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.uniqueArray(cid, { minLength: 2, maxLength: 3 }), { minKeys: 1, maxKeys: 2 }), { nil: undefined }),
}).map(({ v, c, extra, pick, h, deleted, createdAt, updatedAt, x }) => {
  // Heads: some also in the stamp table (written as indexes), some not; at least one.
  const fromC = c.length === 0 ? [] : [...new Set(pick.map((i) => c[i % c.length]!))]
  const heads = [...fromC, ...extra.filter((x) => !c.includes(x))]
  if (heads.length === 0) heads.push('bafyreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' as BlockCID)
  const w = Object.fromEntries(Object.keys(v).map((k, i) => [k, [i % Math.max(1, c.length), h]])) as unknown as DocRecord['w']
  const rec: DocRecord = { v: JSON.parse(JSON.stringify(v)) as DocRecord['v'], w, c, heads, h, deleted, createdAt, updatedAt }
  if (x !== undefined) rec.x = JSON.parse(JSON.stringify(x)) as DocRecord['x']
  return rec
})

test('records round-trip, and recordHeads gives the heads of the full decode', () => {
  fc.assert(fc.property(record, (rec) => {
    const text = encodeRecord(rec)
    assert.deepEqual(decodeRecord(text), rec)
    assert.deepEqual(recordHeads(text), rec.heads)
  }), { numRuns: 2000, seed: 20261129 })
})

test('recordHeads on text of another shape falls back to the full decode', () => {
  const rec = { v: { t: 'a]b[' }, w: {}, c: ['bafyreib'], heads: ['bafyreib', 'bafyreic'], h: 2, deleted: false, createdAt: 1, updatedAt: 2 } as unknown as DocRecord
  const text = encodeRecord(rec)
  assert.deepEqual(recordHeads(text), ['bafyreib', 'bafyreic'])
  assert.throws(() => recordHeads('not json'))
})
