/**
 * readHeadsFrame (head-exchange/frames.ts), the fast reader of head-exchange frames, against the
 * general path (dag-cbor decode + the zod schema): whatever it accepts, the general path accepts
 * with the same value; anything else falls back (null) for the general path to decide.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { HeadsFrame, readHeadsFrame } from '../../main/net/head-exchange/frames.ts'
import { FRAME_DOCS, MAX_HEADS } from '../../main/net/head-exchange/constants.ts'

const CID = 'bafyreihzr5e4ywzerlhbkntdtno4koqfrswlxrhmofrzlni5yqgfui62oa'
const DOC = 'bae-bafyreihzr5e4ywzerlhbkntdtno4koqfrswlxrhmofrzlni5yqgfui62oa'

function general(data: Uint8Array): unknown {
  try {
    const r = HeadsFrame.safeParse(dagCbor.decode(data))
    return r.success ? r.data : undefined
  } catch {
    return undefined
  }
}

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

test('random frames: whatever the fast reader accepts, the general path accepts identically', () => {
  const id = fc.oneof(fc.constant(CID), fc.constant(DOC), fc.constant(''), fc.string({ maxLength: 12 }), fc.stringMatching(/^b[a-z2-7]{6,20}$/), fc.stringMatching(/^bae-b[a-z2-7]{6,20}$/))
  const doc = fc.record({ c: id, d: id, h: fc.oneof(fc.array(id, { maxLength: 4 }), id) }, { requiredKeys: [] })
  const frame = fc.oneof(fc.record({ docs: fc.array(doc, { maxLength: 6 }) }), fc.record({ docs: fc.array(doc), x: fc.integer() }), fc.anything())
  let accepted = 0
  fc.assert(fc.property(frame, (f) => {
    let data: Uint8Array
    try { data = dagCbor.encode(f) } catch { return }
    const fast = readHeadsFrame(data)
    if (fast === null) return
    accepted++
    assert.deepEqual(fast, general(data))
  }), { numRuns: 5000, seed: 20261204 })
  assert.ok(accepted > 100, `some random frames were read fast (${accepted})`)
})
