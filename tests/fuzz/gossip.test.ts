/**
 * Gossip payloads: a group device (and a stranger who somehow learnt the topic names and secret)
 * publishes junk on the group's collection topic — unsealed bytes, sealed random bytes, sealed
 * random CBOR, sealed payloads carrying random or mutated blocks, valid blocks under the wrong
 * collection. The receiver applies nothing of it, does not crash, keeps its heap bounded, and still
 * takes the group's next real change by gossip.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import * as dagCbor from '@ipld/dag-cbor'
import type { GossipSub } from '@libp2p/gossipsub'
import { storeOf } from '../../main/db/database.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { fuzz, mutated } from './fuzz-seed.ts'
import { heapMiB } from './wire-client.ts'

const SDL = 'type Notes { title: String! body: String }'

async function state(db: import('../../main/db/database.ts').Database): Promise<string> {
  return JSON.stringify({ blocks: await storeOf(db).blocks.keys().all(), pending: await storeOf(db).pending.keys().all() })
}

test('junk gossip from a group device or a stranger is dropped and the group keeps syncing', async (t) => {
  const a = await startNode(t)
  const b = await startNode(t)
  const stranger = await startNode(t)
  for (const n of [a, b, stranger]) await n.db.addCollections(SDL)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'group connected')
  await stranger.dial(a.addresses()[0]!)
  const collection = (await a.db.getCollection('Notes')).id
  const first = await b.db.createDocument('Notes', { title: 'first' })
  await eventually(() => a.db.getDocument('Notes', first).catch(() => undefined), 'gossip works')
  const topic = b.group.secret.collectionTopic(collection)
  // The stranger knows the topic and the secret, as if they had leaked; gossip still wants a group device's signature.
  await stranger.group.setSecret(b.group.secret.bytes)
  const publishers = { b: b.host!.services.pubsub as GossipSub, stranger: stranger.host!.services.pubsub as GossipSub }
  for (const p of Object.values(publishers)) p.subscribe(topic)
  await new Promise((r) => setTimeout(r, 1000)) // let the mesh take the stranger's subscription in

  const valid = (await b.db.getBlock((await b.db.getDocument('Notes', first)).heads[0]!))!
  const before = await state(a.db)
  const heapBefore = heapMiB()
  const seal = (x: Uint8Array): Uint8Array => b.group.secret.seal(x)
  const cbor = fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, fc.string({ maxLength: 20 }), fc.integer(), fc.constant(null), fc.uint8Array({ maxLength: 64 }),
      fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.constantFrom('v', 'c', 'b', 'x'), tie('v'), { maxKeys: 4 })),
  }))
  const payloads = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 2000 }),
    fc.uint8Array({ minLength: 1, maxLength: 2000 }).map(seal),
    cbor.v.map((v) => seal(dagCbor.encode(v))),
    fc.array(fc.uint8Array({ minLength: 1, maxLength: 400 }), { minLength: 1, maxLength: 5 }).map((bs) => seal(dagCbor.encode({ v: 1, c: collection, b: bs }))),
    mutated(valid).map((m) => seal(dagCbor.encode({ v: 1, c: collection, b: [m] }))),
    fc.constant(seal(dagCbor.encode({ v: 1, c: 'bafyreihzr5e4ywzerlhbkntdtno4koqfrswlxrhmofrzlni5yqgfui62oa', b: [valid] }))),
    mutated(seal(dagCbor.encode({ v: 1, c: collection, b: [valid] }))),
  )
  let published = 0
  const cases = await fuzz(t, 'gossip payloads', fc.tuple(fc.constantFrom('b', 'stranger') as fc.Arbitrary<'b' | 'stranger'>, payloads), 300, async ([who, data]) => {
    await publishers[who].publish(topic, data).then(() => { published++ }, () => {})
  })
  // The stranger, publishing a valid sealed payload with a block of its own: refused by signature.
  const own = await stranger.db.createDocument('Notes', { title: 'from a stranger' })
  const ownBlock = (await stranger.db.getBlock(own.slice(4)))!
  await publishers.stranger.publish(topic, seal(dagCbor.encode({ v: 1, c: collection, b: [ownBlock] }))).catch(() => {})

  // The group's next real change still arrives by gossip (published after the junk).
  const after = await b.db.createDocument('Notes', { title: 'after the junk' })
  await eventually(() => a.db.getDocument('Notes', after).catch(() => undefined), 'A took the real change after the junk')
  await assert.rejects(a.db.getDocument('Notes', own), /no document/)
  const blocksNow = JSON.parse(await state(a.db)) as { blocks: string[]; pending: string[] }
  const blocksBefore = JSON.parse(before) as { blocks: string[]; pending: string[] }
  assert.deepEqual(blocksNow.pending, blocksBefore.pending, 'no junk waits pending')
  assert.deepEqual(blocksNow.blocks.filter((c) => !blocksBefore.blocks.includes(c)), [after.slice(4)], 'the only new block is the real change')
  const heapAfter = heapMiB()
  t.diagnostic(`gossip: ${cases} cases, ${published} published; heap ${heapBefore.toFixed(1)} → ${heapAfter.toFixed(1)} MiB`)
  assert.ok(heapAfter - heapBefore < 64)
  assert.ok(a.connectedDevices().includes(b.deviceID))
})
