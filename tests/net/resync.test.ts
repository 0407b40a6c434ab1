import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TandemNode } from '../../main/node/tandem-node.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { allBlocks, visibleState } from '../helpers/replicas.ts'
import { tempDir } from '../helpers/tmp.ts'

const NOTES = 'type Notes { title: String! n: Int body: String }'

async function same(a: TandemNode, b: TandemNode, collection = 'Notes'): Promise<boolean> {
  return JSON.stringify(await visibleState(a.db, collection)) === JSON.stringify(await visibleState(b.db, collection))
}

test('B stopped while A edits 500 documents; B restarts and has them all without any new edit', async (t) => {
  const a = await startNode(t)
  const bDir = await tempDir(t)
  let b = await TandemNode.start({ dataDir: bDir, listen: ['/ip4/127.0.0.1/tcp/0'] })
  await a.db.addCollections(NOTES)
  await b.db.addCollections(NOTES)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  const bID = b.deviceID
  await b.stop()
  const ids = await a.db.createDocuments('Notes', Array.from({ length: 400 }, (_, i) => ({ title: `note ${i}` })))
  for (const id of ids.slice(0, 100)) await a.db.updateDocument('Notes', id, { n: 1 })
  b = await TandemNode.start({ dataDir: bDir, listen: ['/ip4/127.0.0.1/tcp/0'] })
  t.after(() => b.stop())
  assert.equal(b.deviceID, bID, 'same device ID after restart')
  assert.equal(b.group.list().length, 1, 'the group survives a restart')
  await eventually(() => same(a, b), 'B caught up by itself', 30_000)
  assert.equal((await b.db.listDocuments('Notes', { filter: { n: 1 } })).total, 100)
})

test('both sides edit while disconnected (same and different documents); on reconnect they are identical', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  await a.db.addCollections(NOTES)
  await b.db.addCollections(NOTES)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  const shared = await a.db.createDocuments('Notes', Array.from({ length: 20 }, (_, i) => ({ title: `shared ${i}` })))
  await eventually(async () => (await b.db.listDocuments('Notes')).total === 20, 'shared docs on B')
  await a.pause()
  await eventually(() => a.connectedDevices().length === 0 && b.connectedDevices().length === 0, 'disconnected')
  for (const [i, id] of shared.slice(0, 19).entries()) {
    await a.db.updateDocument('Notes', id, { n: i, body: 'a' })
    if (i % 2 === 0) await b.db.updateDocument('Notes', id, { n: -i })
  }
  await a.db.deleteDocument('Notes', shared[19]!)
  await b.db.updateDocument('Notes', shared[19]!, { body: 'b edits what a deleted' })
  await a.db.createDocuments('Notes', [{ title: 'only on a' }, { title: 'also a' }])
  await b.db.createDocument('Notes', { title: 'only on b' })
  assert.equal(await same(a, b), false)
  a.resume()
  await eventually(() => same(a, b), 'identical after reconnect', 30_000)
  const state = await visibleState(a.db, 'Notes')
  assert.equal(state.live.length, 19 + 3)
  assert.equal(state.trash.length, 1, 'a delete wins over the concurrent edit')
  assert.equal(state.trash[0]!.fields.body, 'b edits what a deleted', 'yet the edit is merged')
})

test('a block that arrives without its ancestors makes the receiver fetch them', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  await a.db.addCollections(NOTES)
  await b.db.addCollections(NOTES)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  await new Promise((r) => setTimeout(r, 300))
  await eventually(() => !a.syncing && !b.syncing, 'the head exchange on connect is over')
  // Only A's newest block ever reaches B through gossip: the older ones are made while gossip drops.
  a.gossip!.dropOutgoing = true
  const id = await a.db.createDocument('Notes', { title: 'v1' })
  await a.db.updateDocument('Notes', id, { n: 2 })
  await a.db.updateDocument('Notes', id, { n: 3 })
  await new Promise((r) => setTimeout(r, 300))
  assert.equal((await b.db.listDocuments('Notes')).total, 0)
  a.gossip!.dropOutgoing = false
  await a.db.updateDocument('Notes', id, { body: 'newest' })
  const doc = await eventually(() => b.db.getDocument('Notes', id).catch(() => undefined), 'document complete on B')
  assert.deepEqual(doc.fields, { body: 'newest', n: 3, title: 'v1' })
  assert.deepEqual(await b.db.pendingBlocks(), [])
  assert.equal((await allBlocks(b.db)).length, 4)
})

test('chain A–B–C with A and C never connected: A\'s edit reaches C through B', async (t) => {
  // A and C refuse each other (a partition), so only B links them.
  let aID = ''
  let cID = ''
  const a = await startNode(t, { denyPeers: (p) => p === cID })
  const c = await startNode(t, { denyPeers: (p) => p === aID })
  aID = a.deviceID
  cID = c.deviceID
  const b = await startNode(t)
  for (const n of [a, b, c]) await n.db.addCollections(NOTES)
  await formGroup([a, b, c])
  await eventually(() => b.connectedDevices().length === 2, 'B connected to both')
  await new Promise((r) => setTimeout(r, 500)) // let the meshes form
  assert.equal(a.connectedDevices().includes(c.deviceID), false)
  const id = await a.db.createDocument('Notes', { title: 'from A' })
  await a.db.updateDocument('Notes', id, { n: 7 })
  const doc = await eventually(async () => {
    const d = await c.db.getDocument('Notes', id).catch(() => undefined)
    return d?.fields.n === 7 ? d : undefined
  }, 'A\'s edit on C')
  assert.equal(doc.fields.title, 'from A')
  assert.equal(a.connectedDevices().includes(c.deviceID), false, 'still never connected')
})

test('a node without the network works fully offline and keeps its identity', async (t) => {
  const dir = await tempDir(t)
  let n = await TandemNode.start({ dataDir: dir, p2p: false })
  assert.equal(n.host, null)
  assert.deepEqual(n.addresses(), [])
  await n.db.addCollections(NOTES)
  const id = await n.db.createDocument('Notes', { title: 'offline' })
  const device = n.deviceID
  await n.stop()
  n = await TandemNode.start({ dataDir: dir, p2p: false })
  t.after(() => n.stop())
  assert.equal(n.deviceID, device)
  assert.equal((await n.db.getDocument('Notes', id)).fields.title, 'offline')
})
