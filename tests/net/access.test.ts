import { test } from 'node:test'
import assert from 'node:assert/strict'
import { lpStream } from '@libp2p/utils'
import * as dagCbor from '@ipld/dag-cbor'
import type { GossipSub } from '@libp2p/gossipsub'
import { PROTOCOL as DAG } from '../../main/net/dag-sync/constants.ts'
import { PROTOCOL as HEADS } from '../../main/net/head-exchange/constants.ts'
import { PROTOCOL as SCHEMA } from '../../main/net/schema-sync/constants.ts'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { allBlocks } from '../helpers/replicas.ts'

const NOTES = 'type Notes { title: String! body: String }'
const SECRET_TEXT = 'the launch code is 0000'

async function ask(from: TandemNode, to: TandemNode, protocol: string, frames: Uint8Array[], opts: { rawPrefix?: Uint8Array } = {}): Promise<unknown[]> {
  const stream = await from.host!.dialProtocol(to.host!.peerId, protocol, { signal: AbortSignal.timeout(5000) })
  const replies: unknown[] = []
  if (opts.rawPrefix) stream.send(opts.rawPrefix)
  const lp = lpStream(stream, { maxDataLength: 8 * 1024 * 1024 })
  try {
    for (const f of frames) await lp.write(f, { signal: AbortSignal.timeout(2000) })
    for (;;) {
      const data = await lp.read({ signal: AbortSignal.timeout(3000) })
      replies.push(dagCbor.decode(data.subarray()))
    }
  } catch {
    // the other side closed or reset the stream: that is the point
  }
  return replies
}

test('a stranger that connects, subscribes to every topic it sees and calls every protocol learns nothing', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  const stranger = await startNode(t)
  for (const n of [a, b, stranger]) await n.db.addCollections(NOTES)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'group connected')
  await stranger.dial(a.addresses()[0]!)
  await eventually(() => a.host!.getConnections(stranger.host!.peerId).length > 0, 'stranger connected')

  // The stranger subscribes to every topic it can see — and, as if they had leaked, to the
  // group's real topic names too — and listens.
  const pubsub = stranger.host!.services.pubsub as GossipSub & { topics: Map<string, Set<string>> }
  await new Promise((r) => setTimeout(r, 500))
  const topics = new Set([...pubsub.topics.keys(), ...a.gossip!.topics()])
  const seen: Uint8Array[] = []
  pubsub.addEventListener('message', (evt) => seen.push(evt.detail.data))
  for (const topic of topics) {
    pubsub.subscribe(topic)
    pubsub.topicValidators.delete(topic)
  }
  assert.doesNotMatch([...topics].join(' '), /Notes|bafy|bae-/, 'topic names reveal no collection or document')

  await new Promise((r) => setTimeout(r, 500))
  const id = await a.db.createDocument('Notes', { title: SECRET_TEXT })
  await a.db.updateDocument('Notes', id, { body: SECRET_TEXT })
  await eventually(async () => (await b.db.getDocument('Notes', id).catch(() => undefined))?.fields.body === SECRET_TEXT, 'B got it')
  await new Promise((r) => setTimeout(r, 500))
  for (const data of seen) assert.ok(!Buffer.from(data).includes(SECRET_TEXT), 'no gossip plaintext reached the stranger')

  // The direct protocols refuse it, in the one error frame (wire.ts).
  const refused = { t: 'error', code: 'UNAUTHORIZED', error: 'refused: not a device of this group', ok: false }
  const head = (await a.db.getDocument('Notes', id)).heads[0]!
  const dag = await ask(stranger, a, DAG, [dagCbor.encode({ v: 1, want: [head], have: [] })])
  assert.deepEqual(dag, [refused])
  const digests = await stranger.db.collectionDigests()
  const heads = await ask(stranger, a, HEADS, [dagCbor.encode({ v: 1, cols: [...digests].map(([cid, d]) => ({ id: cid, d })) })])
  assert.deepEqual(heads, [refused])
  const coll = (await a.db.getCollection('Notes')).id
  const schema = await ask(stranger, a, SCHEMA, [dagCbor.encode({ v: 1, have: [{ c: coll, ids: [] }], want: [coll] })])
  assert.deepEqual(schema, [refused], 'schema versions are not served to strangers either')

  // Its own writes, published on the group's topics, are refused.
  const mine = await stranger.db.createDocument('Notes', { title: 'from a stranger' })
  for (const topic of topics) {
    await pubsub.publish(topic, (await allBlocks(stranger.db))[0]!.bytes).catch(() => {})
  }
  await new Promise((r) => setTimeout(r, 500))
  await assert.rejects(a.db.getDocument('Notes', mine), /no document/)
  assert.equal((await stranger.db.listDocuments('Notes')).total, 1, 'the stranger holds only its own document')
})

test('malformed, oversized and truncated messages are refused and the node keeps serving its group', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  await a.db.addCollections(NOTES)
  await b.db.addCollections(NOTES)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  const junk = [
    new Uint8Array([1, 2, 3, 4, 5]),
    dagCbor.encode({ v: 2, want: ['x'], have: [] }),
    dagCbor.encode({ v: 1, want: [], have: [] }),
    dagCbor.encode({ v: 1, want: Array.from({ length: 5000 }, () => 'bafyreihzr5e4ywzerlhbkntdtno4koqfrswlxrhmofrzlni5yqgfui62oa'), have: [] }),
    dagCbor.encode({ v: 1, cols: [{ id: 'not a cid', d: new Uint8Array(32) }] }),
    dagCbor.encode('a string'),
  ]
  for (const protocol of [DAG, HEADS]) {
    for (const frame of junk) {
      const replies = await ask(b, a, protocol, [frame])
      assert.ok(replies.every((r) => typeof r === 'object' && r !== null && !('blocks' in r)), `${protocol} answered junk with data`)
    }
    // A length prefix announcing 1 GiB, then nothing: refused without waiting for the bytes.
    await ask(b, a, protocol, [], { rawPrefix: new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x04]) })
    // A truncated message: a prefix for 100 bytes, 3 bytes, then the stream ends.
    await ask(b, a, protocol, [], { rawPrefix: new Uint8Array([100, 1, 2, 3]) })
  }
  const id = await a.db.createDocument('Notes', { title: 'still serving' })
  const report = await b.syncWith(a.deviceID)
  assert.ok(report.collections >= 1)
  await eventually(() => b.db.getDocument('Notes', id).catch(() => undefined), 'sync still works')
})
