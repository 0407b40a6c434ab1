/**
 * readHeadsFrame (head-exchange/frames.ts), the fast reader of head-exchange frames, against the
 * general path (dag-cbor decode + the zod schema): whatever it accepts, the general path accepts
 * with the same value; anything else falls back (null) for the general path to decide.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { docsOf, HeadsFrame, readHeadsFrame } from '../../main/net/head-exchange/frames.ts'
import { FRAME_DOCS, MAX_HEADS } from '../../main/net/head-exchange/constants.ts'
import { generalPath } from '../helpers/wire-general.ts'

const CID = 'bafyreihzr5e4ywzerlhbkntdtno4koqfrswlxrhmofrzlni5yqgfui62oa'
const DOC = 'bae-bafyreihzr5e4ywzerlhbkntdtno4koqfrswlxrhmofrzlni5yqgfui62oa'

const general = (data: Uint8Array): unknown => generalPath(HeadsFrame, data)

test('frames of heads read fast give what the general path gives', () => {
  for (const n of [0, 1, 3, FRAME_DOCS]) {
    const docs = Array.from({ length: n }, (_, i) => ({ c: CID, d: `${DOC}${'a'.repeat(i % 7)}`, h: Array.from({ length: 1 + (i % 3) }, () => CID) }))
    const data = dagCbor.encode({ docs })
    const got = readHeadsFrame(data)
    assert.ok(got !== null)
    assert.deepEqual(got, general(data))
  }
  const refused = [
    { docs: Array.from({ length: FRAME_DOCS + 1 }, () => ({ c: CID, d: DOC, h: [CID] })) },
    { docs: [{ c: CID, d: DOC, h: [] }] },
    { docs: [{ c: CID, d: DOC, h: Array.from({ length: MAX_HEADS + 1 }, () => CID) }] },
    { docs: [{ c: 'Bafy', d: DOC, h: [CID] }] },
    { docs: [{ c: CID, d: CID, h: [CID] }] },
    { docs: [{ c: CID, d: DOC, h: [DOC] }] },
    { docs: [{ c: CID, d: DOC, h: CID }] },
    { docs: [{ c: CID, d: DOC }] },
    { docs: [[CID, DOC, [CID]]] },
    { docs: {} },
  ]
  for (const frame of refused) {
    const data = dagCbor.encode(frame)
    assert.equal(readHeadsFrame(data), null)
    assert.equal(general(data), undefined, 'the general path refuses it too')
  }
  // Frames it leaves to the general path, which takes them (dropping the keys it does not know).
  for (const frame of [{ done: true }, { error: 'x', code: 'INTERNAL' }, { docs: [{ c: CID, d: DOC, h: [CID], x: 1 }] }, { docs: [], more: 1 }]) {
    assert.equal(readHeadsFrame(dagCbor.encode(frame)), null)
  }
  assert.equal(readHeadsFrame(new Uint8Array([0xa1, 0x64])), null, 'cut short')
})

/** IDs of every kind: right, of the other kind, empty, junk, well-formed but not real. */
const id = fc.oneof(fc.constant(CID), fc.constant(DOC), fc.constant(''), fc.string({ maxLength: 12 }), fc.stringMatching(/^b[a-z2-7]{6,20}$/), fc.stringMatching(/^bae-b[a-z2-7]{6,20}$/))

/** Whatever the fast reader accepts of `frames`, the general path accepts with the same value; and it accepts many. */
function agreesWithGeneralPath(frames: fc.Arbitrary<unknown>, seed: number): void {
  let accepted = 0
  fc.assert(fc.property(frames, (f) => {
    let data: Uint8Array
    try { data = dagCbor.encode(f) } catch { return }
    const fast = readHeadsFrame(data)
    if (fast === null) return
    accepted++
    assert.deepEqual(fast, general(data))
  }), { numRuns: 5000, seed })
  assert.ok(accepted > 100, `some random frames were read fast (${accepted})`)
}

test('random frames: whatever the fast reader accepts, the general path accepts identically', () => {
  const doc = fc.record({ c: id, d: id, h: fc.oneof(fc.array(id, { maxLength: 4 }), id) }, { requiredKeys: [] })
  agreesWithGeneralPath(fc.oneof(fc.record({ docs: fc.array(doc, { maxLength: 6 }) }), fc.record({ docs: fc.array(doc), x: fc.integer() }), fc.anything()), 20261204)
})

test('compact frames read fast give what the general path gives; the refused ones are refused by both', () => {
  const other = 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
  for (const [g, o] of [[0, 0], [1, 0], [0, 1], [3, 2], [FRAME_DOCS - 5, 5]] as const) {
    const frame = { c: CID, g: Array.from({ length: g }, (_, i) => `${DOC}${'a'.repeat(i % 7)}`), o: Array.from({ length: o }, (_, i) => ({ d: DOC, h: Array.from({ length: 1 + (i % 3) }, () => other) })) }
    const data = dagCbor.encode(frame)
    const got = readHeadsFrame(data)
    assert.ok(got !== null)
    assert.deepEqual(got, general(data))
    // The asker's view: a document in g has its first block for its one head.
    const docs = docsOf(got as never).get(CID as never) ?? []
    assert.equal(docs.length, g + o)
    for (const d of docs.slice(0, g)) assert.deepEqual(d.heads, [d.docID.slice(4)])
    for (const d of docs.slice(g)) assert.ok(d.heads.every((h) => h === other))
  }
  const refused = [
    { c: CID, g: Array.from({ length: FRAME_DOCS - 1 }, () => DOC), o: [{ d: DOC, h: [CID] }, { d: DOC, h: [CID] }] },
    { c: CID, g: [CID], o: [] },
    { c: DOC, g: [DOC], o: [] },
    { c: CID, g: [DOC], o: [{ d: DOC, h: [] }] },
    { c: CID, g: [], o: [{ d: DOC, h: Array.from({ length: MAX_HEADS + 1 }, () => CID) }] },
    { c: CID, g: [], o: [{ d: DOC, h: CID }] },
    { c: CID, g: DOC, o: [] },
    { c: CID, g: [] },
  ]
  for (const frame of refused) {
    const data = dagCbor.encode(frame)
    assert.equal(readHeadsFrame(data), null)
    assert.equal(general(data), undefined, 'the general path refuses it too')
  }
  // Left to the general path, which takes it (dropping the key it does not know).
  assert.equal(readHeadsFrame(dagCbor.encode({ c: CID, g: [DOC], o: [{ d: DOC, h: [CID], x: 1 }] })), null)
})

test('random compact frames: whatever the fast reader accepts, the general path accepts identically', () => {
  const other = fc.record({ d: id, h: fc.oneof(fc.array(id, { maxLength: 4 }), id) }, { requiredKeys: [] })
  // Mostly well-formed (every key there, IDs of the right kinds), so that many are read fast.
  const cid = fc.oneof({ weight: 4, arbitrary: fc.constant(CID) }, { weight: 1, arbitrary: id })
  const doc = fc.oneof({ weight: 4, arbitrary: fc.constant(DOC) }, { weight: 1, arbitrary: id })
  const good = fc.record({ d: doc, h: fc.array(cid, { minLength: 1, maxLength: 3 }) })
  agreesWithGeneralPath(fc.oneof(
    fc.record({ c: cid, g: fc.array(doc, { maxLength: 6 }), o: fc.array(fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: other }), { maxLength: 4 }) }),
    fc.record({ c: id, g: fc.oneof(fc.array(id, { maxLength: 6 }), id), o: fc.array(other, { maxLength: 4 }) }, { requiredKeys: [] }),
    fc.record({ c: id, g: fc.array(id), o: fc.array(other), x: fc.integer() }),
  ), 20261205)
})
