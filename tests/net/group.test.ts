import { test } from 'node:test'
import assert from 'node:assert/strict'
import { lpStream } from '@libp2p/utils'
import * as dagCbor from '@ipld/dag-cbor'
import { PROTOCOL as REPLICATE } from '../../main/net/replicate/constants.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'

const NOTES = 'type Notes { title: String! n: Int }'

test('a removed device is disconnected and refused from then on', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  for (const n of [a, b]) await n.db.addCollections(NOTES)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  await a.group.remove(b.deviceID)
  assert.equal(a.group.has(b.deviceID), false)
  assert.equal(a.connectedDevices().includes(b.deviceID), false)
  // B still thinks A is its device and keeps redialing (a stranger may connect, for pairing);
  // but A answers none of its requests and takes none of its changes.
  await eventually(() => b.dial(a.addresses()[0]!).then(() => true, () => false), 'B reconnected')
  const id = await b.db.createDocument('Notes', { title: 'after removal' })
  await b.db.updateDocument('Notes', id, { n: 1 })
  await assert.rejects(b.syncWith(a.deviceID), /refused|not a device|closed|reset/i)
  await new Promise((r) => setTimeout(r, 500))
  await assert.rejects(a.db.getDocument('Notes', id), /no document/)
  await assert.rejects(a.group.remove(b.deviceID), /No device/)
})

test('bad device IDs and addresses are refused with clear errors', async (t) => {
  const a = await startNode(t)
  await assert.rejects(a.group.add({ deviceID: 'not-a-peer-id' }), /is not a device ID/)
  await assert.rejects(a.group.add({ deviceID: a.deviceID }), /this device itself/)
  const b = await startNode(t)
  await assert.rejects(a.group.add({ deviceID: b.deviceID, addrs: ['127.0.0.1:9171'] }), /is not a multiaddr/)
  assert.equal(a.group.list().length, 0, 'nothing recorded')
  await assert.rejects(a.dial('/ip4/127.0.0.1/tcp/notaport'), /not a multiaddr/)
})

test('topics stay O(collections + hot documents): a whole collection follows no document, a partial one at most its hot ones', async (t) => {
  const [a, b] = [await startNode(t, { hotDocuments: 8 }), await startNode(t, { hotDocuments: 8 })]
  await a.db.addCollections(NOTES)
  await a.db.addCollections('type Other { x: Int }')
  const notes = await a.db.getCollection('Notes')
  await b.db.importCollection(notes.id, notes.sdl, { partial: true }) // B keeps only some Notes
  await formGroup([a, b])
  const ids = await a.db.createDocuments('Notes', Array.from({ length: 100 }, (_, i) => ({ title: `n${i}` })))
  assert.equal(a.gossip!.topics().length, 2, 'creating documents subscribes nothing more')
  for (const id of ids) await a.db.updateDocument('Notes', id, { n: 1 })
  a.gossip!.openDocument(notes.id, ids[0]!)
  await new Promise((r) => setImmediate(r))
  assert.equal(a.gossip!.topics().length, 2, 'A keeps Notes whole: its topic brings every edit, so no document topic is followed')
  assert.equal(b.gossip!.topics().length, 0, 'B follows no collection topic for a collection kept in part')
  for (const id of ids) b.gossip!.openDocument(notes.id, id)
  assert.equal(b.gossip!.topics().length, 8, 'B follows at most 8 hot documents of it')
  // Gossipsub's mesh tags are off (they cost a peer-store write per topic): the device tag protects the connection instead.
  const tags = (await a.host!.peerStore.get(b.host!.peerId)).tags
  assert.equal(tags.get('tandem-device')?.value, 100, 'B is tagged on A as a group device')
  assert.ok(![...tags.keys()].some((k) => k.startsWith('/tandem/')), 'with no per-topic tag')
})

test('DAG sync says which blocks the peer does not have', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  await formGroup([a, b])
  // B opens the streams: wait until B counts the connection too (A may see it a moment earlier).
  await eventually(() => a.connectedDevices().includes(b.deviceID) && b.connectedDevices().includes(a.deviceID), 'connected, both ways')
  const unknown = 'bafyreihzr5e4ywzerlhbkntdtno4koqfrswlxrhmofrzlni5yqgfui62oa'
  const r = await b.dagSync!.fetch(a.host!.peerId, [unknown])
  assert.deepEqual(r.missing, [unknown])
  assert.equal(r.received, 0)
})

test('junk pushed on the replication protocol is refused and nothing is written', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  for (const n of [a, b]) await n.db.addCollections(NOTES)
  await formGroup([a, b])
  // B opens the streams: wait until B counts the connection too (A may see it a moment earlier).
  await eventually(() => a.connectedDevices().includes(b.deviceID) && b.connectedDevices().includes(a.deviceID), 'connected, both ways')
  const frames = [
    dagCbor.encode({ v: 1, schemas: [], blocks: [new Uint8Array([1, 2, 3])] }),
    dagCbor.encode({ v: 1, schemas: [{ id: 'bafyreihzr5e4ywzerlhbkntdtno4koqfrswlxrhmofrzlni5yqgfui62oa', sdl: 'type X { y: Int }', partial: false }], blocks: [] }),
    dagCbor.encode({ v: 1, schemas: 'nope', blocks: [] }),
    new Uint8Array([0xff, 0xff]),
  ]
  const answers: unknown[] = []
  for (const frame of frames) {
    const stream = await b.host!.dialProtocol(a.host!.peerId, REPLICATE)
    const lp = lpStream(stream)
    await lp.write(frame)
    try {
      answers.push(dagCbor.decode((await lp.read({ signal: AbortSignal.timeout(3000) })).subarray()))
    } catch {
      answers.push('closed')
    }
  }
  assert.deepEqual(answers[0], { ok: true, applied: 0, duplicate: 0, pending: [], rejected: 1 })
  assert.equal(answers[2], 'closed')
  assert.equal(answers[3], 'closed')
  assert.deepEqual((await a.db.listCollections()).map((c) => c.name), ['Notes'], 'a schema that does not match its ID is not imported')
  const id = await a.db.createDocument('Notes', { title: 'still serving' })
  await a.replicators!.set({ target: b.deviceID, collections: ['Notes'] })
  await eventually(() => b.db.getDocument('Notes', id).catch(() => undefined), 'replication still works')
})
