/**
 * Every direct protocol (DAG sync, head exchange, replication, pairing, group sync) against random
 * frames, mutations of valid frames, truncated messages and oversized length prefixes, from a group
 * device and from a stranger, then a flood of concurrent requests. The node must end every stream
 * (answer, close or reset: never leave it hanging once the sender is done), never crash, keep its
 * heap bounded, and keep serving its group. Slow senders are in ./slow-senders.test.ts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { PROTOCOL as DAG } from '../../main/net/dag-sync/constants.ts'
import { PROTOCOL as HEADS } from '../../main/net/head-exchange/constants.ts'
import { PROTOCOL as REPLICATE } from '../../main/net/replicate/constants.ts'
import { PROTOCOL as PAIR } from '../../main/net/pairing/constants.ts'
import { PROTOCOL as GROUP } from '../../main/net/group-sync/constants.ts'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { fuzz, mutated } from './fuzz-seed.ts'
import { exchange, frame, heapMiB, lp, varint } from './wire-client.ts'

const SDL = 'type Notes { title: String! body: String }'

const cborValue = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, fc.string({ maxLength: 30 }), fc.integer(), fc.boolean(), fc.constant(null),
    fc.uint8Array({ maxLength: 64 }), fc.array(tie('v'), { maxLength: 6 }),
    fc.dictionary(fc.constantFrom('v', 't', 'want', 'have', 'cols', 'id', 'd', 'blocks', 'att', 'schemas', 'sdl', 'partial', 'invite', 'name', 'nonce', 'mac', 'epoch', 'secret', 'devices', 'x'), tie('v'), { maxKeys: 8 })),
}))

test('every protocol ends hostile streams, survives, stays bounded and keeps serving its group', async (t) => {
  const a = await startNode(t)
  const b = await startNode(t)
  const stranger = await startNode(t)
  for (const n of [a, b, stranger]) await n.db.addCollections(SDL)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'group connected')
  await stranger.dial(a.addresses()[0]!)
  const docs = []
  for (let i = 0; i < 5; i++) docs.push(await a.db.createDocument('Notes', { title: `n${i}` }))
  const head = (await a.db.getDocument('Notes', docs[0]!)).heads[0]!
  const collection = (await a.db.getCollection('Notes')).id
  const digest = (await a.db.collectionDigests()).get(collection)!
  const blockBytes = (await a.db.getBlock(head))!
  const valid: Record<string, Uint8Array> = {
    [DAG]: frame({ v: 1, want: [head], have: [] }),
    [HEADS]: frame({ v: 1, cols: [{ id: collection, d: new Uint8Array(digest).fill(1) }] }),
    [REPLICATE]: frame({ v: 1, schemas: [{ id: collection, sdl: a.db.collectionSDL(collection)!, partial: false }], blocks: [blockBytes] }),
    [PAIR]: frame({ t: 'hello', v: 1, invite: 'no-such-invite', name: 'fuzzer', nonce: new Uint8Array(16) }),
    [GROUP]: frame({ t: 'state', epoch: 0, secret: new Uint8Array(32), devices: [] }),
  }
  // Group sync from a group device may legitimately change the group (a member's word counts),
  // so mutated group states come from the stranger, who is refused; members send random frames.
  const senders: Record<string, TandemNode[]> = { [DAG]: [b, stranger], [HEADS]: [b, stranger], [REPLICATE]: [b, stranger], [PAIR]: [b, stranger], [GROUP]: [stranger] }

  const heapBefore = heapMiB()
  const endings: Record<string, number> = {}
  let total = 0
  const expectEnded = async (from: TandemNode, protocol: string, bytes: Uint8Array[]): Promise<void> => {
    const r = await exchange(from, a, protocol, bytes, { waitMs: 8000 })
    endings[r.ending] = (endings[r.ending] ?? 0) + 1
    assert.notEqual(r.ending, 'timeout', `${protocol}: the server left the stream open after the sender finished`)
  }
  for (const protocol of [DAG, HEADS, REPLICATE, PAIR, GROUP]) {
    const name = protocol.split('/')[2]!
    const from = fc.constantFrom(...senders[protocol]!)
    const member = fc.constantFrom(b, stranger)
    total += await fuzz(t, `${name}: random bytes`, fc.tuple(member, fc.uint8Array({ minLength: 1, maxLength: 600 })), 25, ([n, bytes]) => expectEnded(n, protocol, [bytes]))
    total += await fuzz(t, `${name}: random CBOR frames`, fc.tuple(member, fc.array(cborValue.v, { minLength: 1, maxLength: 3 })), 30, ([n, vs]) => expectEnded(n, protocol, vs.map(frame)))
    total += await fuzz(t, `${name}: mutated valid frame`, fc.tuple(from, mutated(valid[protocol]!)), 40, ([n, bytes]) => expectEnded(n, protocol, [bytes]))
    total += await fuzz(t, `${name}: truncated frame`, fc.tuple(from, fc.nat({ max: valid[protocol]!.length - 1 })), 15, ([n, cut]) => expectEnded(n, protocol, [valid[protocol]!.subarray(0, cut)]))
    // Length prefixes far over every limit (up to 2^53): refused without waiting for the bytes.
    total += await fuzz(t, `${name}: oversized length prefix`, fc.tuple(from, fc.integer({ min: 5 * 1024 * 1024, max: Number.MAX_SAFE_INTEGER })), 10, ([n, len]) => expectEnded(n, protocol, [varint(len), new Uint8Array(10)]))
    // A varint that never ends.
    await expectEnded(b, protocol, [new Uint8Array(16).fill(0xff)])
  }
  t.diagnostic(`wire: ${total} hostile streams, endings ${JSON.stringify(endings)}`)

  // A flood: many requests at once from a group device and from a stranger. Each protocol takes a
  // few streams per connection at a time and refuses the rest; the node stays up and bounded.
  const flood = await Promise.all([
    ...Array.from({ length: 60 }, (_, i) => exchange(b, a, [DAG, HEADS, REPLICATE][i % 3]!, [valid[[DAG, HEADS, REPLICATE][i % 3]!]!], { waitMs: 20_000 })),
    ...Array.from({ length: 40 }, () => exchange(stranger, a, PAIR, [valid[PAIR]!], { waitMs: 20_000 })),
    ...Array.from({ length: 40 }, () => exchange(stranger, a, DAG, [lp(new Uint8Array(3))], { waitMs: 20_000 })),
  ])
  const floodEndings: Record<string, number> = {}
  for (const r of flood) floodEndings[r.ending] = (floodEndings[r.ending] ?? 0) + 1
  t.diagnostic(`flood of ${flood.length} concurrent streams: ${JSON.stringify(floodEndings)}`)
  assert.equal(floodEndings.timeout ?? 0, 0, 'every flooded stream ended')

  const heapAfter = heapMiB()
  t.diagnostic(`heap: ${heapBefore.toFixed(1)} MiB before, ${heapAfter.toFixed(1)} MiB after the barrage (+${(heapAfter - heapBefore).toFixed(1)})`)
  assert.ok(heapAfter - heapBefore < 64, `heap grew by ${(heapAfter - heapBefore).toFixed(1)} MiB`)

  // Still serving its group: a new change reaches B, and B's sync with A works.
  const id = await a.db.createDocument('Notes', { title: 'after the barrage' })
  const report = await b.syncWith(a.deviceID)
  assert.ok(report.collections >= 1)
  await eventually(() => b.db.getDocument('Notes', id).catch(() => undefined), 'B got the new document')
  assert.ok(a.connectedDevices().includes(b.deviceID))
})
