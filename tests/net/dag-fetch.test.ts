/**
 * A fetch of more blocks than one request carries (FETCH_CHUNK_CIDS) is split into requests that
 * run two at a time: every block arrives, once, and what the asker names as held is not sent.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FETCH_CHUNK_CIDS } from '../../main/net/dag-sync/constants.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'

test('a fetch of 2.2 chunks of documents brings each block once, and skips what the asker holds', async (t) => {
  const [a, b] = [await startNode(t, { antiEntropyMs: 0 }), await startNode(t, { antiEntropyMs: 0 })]
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID) && !a.syncing && !b.syncing, 'connected, settled')
  // The documents are made before B learns the collection, so none reaches B by gossip.
  const n = Math.round(FETCH_CHUNK_CIDS * 2.2)
  await a.db.addCollections('type Items { n: Int }')
  await a.db.createDocuments('Items', Array.from({ length: n }, (_, i) => ({ n: i })))
  const docs = (await a.db.listDocuments('Items', { limit: n })).docs
  const id = (await a.db.getCollection('Items')).id
  await b.db.importCollection(id, a.db.collectionSDL(id)!)

  // First the oldest 1000, then everything: the second fetch names B's heads as held.
  const first = docs.slice(0, 1000).flatMap((d) => d.heads)
  assert.equal((await b.dagSync!.fetch(a.host!.peerId, first)).received, 1000)
  for (const d of docs.slice(0, 50)) await a.db.updateDocument('Items', d.docID, { n: -1 })
  const now = (await a.db.listDocuments('Items', { limit: n })).docs
  const heldHeads = (await b.db.listDocuments('Items', { limit: n })).docs.flatMap((d) => d.heads)
  const r = await b.dagSync!.fetch(a.host!.peerId, now.flatMap((d) => d.heads), heldHeads)
  // Gossip may have brought some of the 50 updates meanwhile; nothing comes twice either way.
  assert.ok(r.received <= n - 1000 + 50 && r.received >= n - 1000, `received ${r.received}`)
  assert.equal(r.rejected, 0)
  assert.deepEqual(r.missing, [])
  assert.equal((await b.db.listDocuments('Items', { limit: 0 })).total, n)
  const [da, db] = [await a.db.collectionDigests(), await b.db.collectionDigests()]
  assert.deepEqual(Buffer.from(db.get(id)!), Buffer.from(da.get(id)!))
})

test('fetching the same blocks from two devices at once brings each block once, split between them; what one cannot bring the other does', async (t) => {
  const opts = { antiEntropyMs: 0 }
  const [a, b, c] = [await startNode(t, opts), await startNode(t, opts), await startNode(t, opts)]
  await formGroup([a, b, c])
  await eventually(() => c.connectedDevices().length === 2 && !a.syncing && !b.syncing && !c.syncing, 'connected, settled')
  const n = Math.round(FETCH_CHUNK_CIDS * 2.4) // three requests: two lanes on one device, one left for the other
  await a.db.addCollections('type Items { n: Int }')
  await a.db.createDocuments('Items', Array.from({ length: n }, (_, i) => ({ n: i })))
  const id = (await a.db.getCollection('Items')).id
  const heads = (await a.db.listDocuments('Items', { limit: n })).docs.flatMap((d) => d.heads)
  // B holds them too (taken from A), C only the collection: none comes by gossip.
  await b.db.importCollection(id, a.db.collectionSDL(id)!)
  assert.equal((await b.dagSync!.fetch(a.host!.peerId, heads)).received, n)
  await c.db.importCollection(id, a.db.collectionSDL(id)!)

  const [fromA, fromB] = await Promise.all([c.dagSync!.fetch(a.host!.peerId, heads), c.dagSync!.fetch(b.host!.peerId, heads)])
  assert.equal(fromA.received + fromB.received, n, `each block once (${fromA.received} from A, ${fromB.received} from B)`)
  assert.ok(fromA.received > 0 && fromB.received > 0, 'both devices sent a share')
  // A wrote them: its frames' attestations cover them all. B's blocks are A's, each checked here.
  assert.equal(fromA.attested, fromA.received, 'every block from their author came attested')
  assert.equal(fromB.attested, 0, 'none from a device that did not write them')
  assert.ok(fromA.ms > 0 && fromB.ms > 0, 'the time in flight is measured')
  assert.equal((await c.db.listDocuments('Items', { limit: 0 })).total, n)

  // A device that cannot bring its share (B stopped mid-fetch): the fetch from A brings it instead.
  const d = await startNode(t, opts)
  await formGroup([a, b, c, d])
  await eventually(() => d.connectedDevices().length === 3, 'D connected')
  await d.db.importCollection(id, a.db.collectionSDL(id)!)
  const fromBToD = d.dagSync!.fetch(b.host!.peerId, heads).catch(() => undefined)
  const fromAToD = d.dagSync!.fetch(a.host!.peerId, heads)
  setTimeout(() => { void b.stop() }, 5)
  await Promise.all([fromBToD, fromAToD])
  await eventually(async () => (await d.db.listDocuments('Items', { limit: 0 })).total === n, 'every document on D')

  // A fetch that joins one already under way: what the first brought before is not asked again.
  const e = await startNode(t, opts)
  await formGroup([a, c, e])
  await eventually(() => e.connectedDevices().length === 2, 'E connected')
  await e.db.importCollection(id, a.db.collectionSDL(id)!)
  const first = e.dagSync!.fetch(a.host!.peerId, heads)
  await eventually(async () => (await e.db.listDocuments('Items', { limit: 0 })).total >= 1000, 'a part on E')
  const [one, joined] = await Promise.all([first, e.dagSync!.fetch(c.host!.peerId, heads)])
  assert.equal(one.received + joined.received, n, `each block once (${one.received} from A, then ${joined.received} from C)`)
  assert.equal((await e.db.listDocuments('Items', { limit: 0 })).total, n)
})
