/**
 * readRequest (dag-sync/request.ts), the fast reader of a fetch's request, against the general path
 * (dag-cbor decode + the zod schema): whatever it accepts, the general path accepts with the same
 * value; anything else falls back (null) for the general path to decide and word.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { readRequest, Request } from '../../main/net/dag-sync/request.ts'
import { MAX_CIDS_PER_REQUEST } from '../../main/net/dag-sync/constants.ts'
import { generalPath } from '../helpers/wire-general.ts'

const CID = 'bafyreihzr5e4ywzerlhbkntdtno4koqfrswlxrhmofrzlni5yqgfui62oa'
const OTHER = 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
const DOC = 'bae-bafyreihzr5e4ywzerlhbkntdtno4koqfrswlxrhmofrzlni5yqgfui62oa'

const general = (data: Uint8Array): unknown => generalPath(Request, data)

test('requests read fast give what the general path gives; the refused ones are refused by both', () => {
  for (const [want, have] of [[1, 0], [3, 2], [MAX_CIDS_PER_REQUEST, MAX_CIDS_PER_REQUEST]] as const) {
    const data = dagCbor.encode({ v: 1, want: Array.from({ length: want }, (_, i) => (i % 2 === 0 ? CID : OTHER)), have: Array.from({ length: have }, () => OTHER) })
    const got = readRequest(data)
    assert.ok(got !== null)
    assert.deepEqual(got, general(data))
  }
  const refused = [
    { v: 1, want: [], have: [] },
    { v: 2, want: [CID], have: [] },
    { v: '1', want: [CID], have: [] },
    { v: 1, want: [DOC], have: [] },
    { v: 1, want: [CID], have: [DOC] },
    { v: 1, want: CID, have: [] },
    { v: 1, want: [CID] },
    { want: [CID], have: [] },
    { v: 1, want: Array.from({ length: MAX_CIDS_PER_REQUEST + 1 }, () => CID), have: [] },
    { v: 1, want: [CID], have: Array.from({ length: MAX_CIDS_PER_REQUEST + 1 }, () => CID) },
    [1, [CID], []],
  ]
  for (const req of refused) {
    const data = dagCbor.encode(req)
    assert.equal(readRequest(data), null)
    assert.equal(general(data), undefined, 'the general path refuses it too')
  }
  // Left to the general path, which takes it (dropping the key it does not know).
  assert.equal(readRequest(dagCbor.encode({ v: 1, want: [CID], have: [], x: 1 })), null)
  assert.ok(general(dagCbor.encode({ v: 1, want: [CID], have: [], x: 1 })) !== undefined)
  assert.equal(readRequest(new Uint8Array([0xa3, 0x61])), null, 'cut short')
})

test('random requests: whatever the fast reader accepts, the general path accepts identically', () => {
  const id = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(CID, OTHER) },
    { weight: 1, arbitrary: fc.oneof(fc.constant(DOC), fc.constant(''), fc.string({ maxLength: 12 }), fc.stringMatching(/^b[a-z2-7]{6,70}$/), fc.integer()) },
  )
  const req = fc.oneof(
    { weight: 4, arbitrary: fc.record({ v: fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.anything() }), want: fc.array(id, { maxLength: 5 }), have: fc.array(id, { maxLength: 5 }) }, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.record({ v: fc.constant(1), want: fc.array(id, { maxLength: 3 }), have: fc.array(id), x: fc.anything() }) },
    { weight: 1, arbitrary: fc.anything() },
  )
  let accepted = 0
  fc.assert(fc.property(req, (r) => {
    let data: Uint8Array
    try { data = dagCbor.encode(r) } catch { return }
    const fast = readRequest(data)
    if (fast === null) return
    accepted++
    assert.deepEqual(fast, general(data))
  }), { numRuns: 5000, seed: 20261205 })
  assert.ok(accepted > 100, `some random requests were read fast (${accepted})`)
})
