import { test } from 'node:test'
import { once } from 'node:events'
import assert from 'node:assert/strict'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { createApi } from '../../main/api/implementation.ts'
import type { SyncStatusReport } from '../../shared/api/sync-status.ts'
import type { TandemNode } from '../../main/node/tandem-node.ts'

const SDL = 'type Notes { title: String! } type Tasks { done: Boolean }'

test('sync status is verified by head exchange: in sync with check time, differing docs counted, never connected', async (t) => {
  const [a, b] = [await startNode(t, { antiEntropyMs: 60_000 }), await startNode(t, { antiEntropyMs: 60_000 })]
  await a.db.addCollections(SDL)
  await b.db.addCollections(SDL)
  await formGroup([a, b])
  const before = Date.now()
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  const api = createApi(a)
  const status = async (): Promise<SyncStatusReport> => {
    const r = await api.call('sync.status', {})
    assert.ok(r.ok, JSON.stringify(r))
    return r.result as SyncStatusReport
  }
  let s = await eventually(async () => { const r = await status(); return r.summary.inSync === 1 ? r : undefined }, 'in sync after connect')
  const dev = s.devices[0]!
  assert.equal(dev.deviceID, b.deviceID)
  assert.equal(dev.collections.length, 2)
  for (const c of dev.collections) {
    assert.equal(c.state, 'in-sync')
    assert.ok(c.checkedAt! >= before && c.checkedAt! <= Date.now())
  }
  assert.equal(s.summary.verifiedAt, Math.min(...dev.collections.map((c) => c.checkedAt!)))

  // Gossip lost both ways; a change here makes the status unverified at once.
  a.gossip!.dropOutgoing = true
  b.gossip!.dropOutgoing = true
  await a.db.createDocuments('Notes', Array.from({ length: 5 }, (_, i) => ({ title: `n${i}` })))
  s = await status()
  assert.equal(s.devices[0]!.collections.find((c) => c.name === 'Notes')!.state, 'changed-here')
  assert.equal(s.devices[0]!.collections.find((c) => c.name === 'Tasks')!.state, 'in-sync')
  assert.equal(s.summary.inSync, 0)
  // A checks B: B lacks five documents.
  await a.syncWith(b.deviceID)
  s = await status()
  const notes = s.devices[0]!.collections.find((c) => c.name === 'Notes')!
  assert.equal(notes.state, 'differs')
  assert.equal(notes.differingDocs, 5)
  // B pulls (one anti-entropy round), then A's next check is in sync again.
  await b.antiEntropy!.runOnce()
  await a.antiEntropy!.runOnce()
  s = await status()
  assert.equal(s.summary.inSync, 1, JSON.stringify(s.devices[0]!.collections))

  // A device of the group that never connected.
  await a.group.add({ deviceID: '12D3KooWLNCRsN6dy5bK3yuUwAB3vQmrKS4YCgYxWUVv9jN6Wy7c' as never, name: 'phone', addrs: [] })
  s = await status()
  const phone = s.devices.find((d) => d.name === 'phone')!
  assert.equal(phone.neverConnected, true)
  assert.equal(phone.connected, false)
  assert.ok(phone.collections.every((c) => c.state === 'unchecked'))
  assert.equal(s.summary.devices, 2)
  assert.equal(s.summary.inSync, 1)

  // B goes away: last seen, not "never connected", and its checks remain.
  await b.stop()
  s = await eventually(async () => { const r = await status(); return r.devices.find((d) => d.deviceID === b.deviceID)!.connected ? undefined : r }, 'B offline')
  const gone = s.devices.find((d) => d.deviceID === b.deviceID)!
  assert.equal(gone.neverConnected, false)
  assert.ok(gone.lastSeen !== null)
})

/** Two devices of one group, connected, their first syncs over, and A's gossip off: B gets nothing of what A writes next. */
async function settledPair(t: Parameters<typeof startNode>[0]): Promise<[TandemNode, TandemNode]> {
  const [a, b] = [await startNode(t, { antiEntropyMs: 60_000 }), await startNode(t, { antiEntropyMs: 60_000 })]
  await a.db.addCollections(SDL)
  await b.db.addCollections(SDL)
  // Each syncs with the other once connected; B's must be over before A writes (a B still
  // syncing would fetch A's new documents while A checks it, the first ones at once).
  const synced = Promise.all([once(a, 'sync'), once(b, 'sync')])
  await formGroup([a, b])
  await synced
  await eventually(() => a.connectedDevices().includes(b.deviceID) && !a.syncing && !b.syncing, 'connected, settled')
  a.gossip!.dropOutgoing = true
  return [a, b]
}

test('a device that holds none of a collection differs by every live document of it', async (t) => {
  const [a, b] = await settledPair(t)
  // 3,000 documents fill every one of the 256 buckets: the count comes without reading them.
  const ids = await a.db.createDocuments('Notes', Array.from({ length: 3000 }, (_, i) => ({ title: `n${i}` })))
  await a.db.deleteDocument('Notes', ids[0]!)
  await a.syncWith(b.deviceID)
  const r = await createApi(a).call('sync.status', {})
  assert.ok(r.ok)
  const notes = (r.result as SyncStatusReport).devices[0]!.collections.find((c) => c.name === 'Notes')!
  assert.equal(notes.state, 'differs')
  assert.equal(notes.differingDocs, 2999, 'the live documents B lacks')
})

test('a device that held none of a collection when it compared counts every document there, as compared', async (t) => {
  const [a, b] = await settledPair(t)
  const ids = await a.db.createDocuments('Notes', Array.from({ length: 300 }, (_, i) => ({ title: `n${i}` })))
  await a.db.deleteDocument('Notes', ids[0]!)
  const notesID = (await b.db.getCollection('Notes')).id
  // B compares while it holds none of Notes; a third of the documents arrive before the status is
  // recorded (as they do while a new device catches up: fetching starts on the first heads).
  const before = await b.db.collectionDigests()
  const remote = await b.heads!.compare(a.host!.peerId, [notesID])
  const third = remote.differing.get(notesID)!.docs.filter((d) => d.docID !== ids[0]).slice(0, 100).flatMap((d) => d.heads)
  const blocks = await a.db.getBlocks(third)
  await b.db.applyBlocks(blocks.map((bytes) => ({ bytes: bytes! })), { from: a.deviceID })
  assert.equal((await b.db.getCollection('Notes')).count, 100)
  await b.syncStatus.record(a.deviceID, [notesID], remote, before)
  const r = await createApi(b).call('sync.status', {})
  assert.ok(r.ok)
  const notes = (r.result as SyncStatusReport).devices[0]!.collections.find((c) => c.name === 'Notes')!
  assert.equal(notes.state, 'differs')
  assert.equal(notes.differingDocs, 300, 'every document A held when B compared (the deleted one too), not the 200 still missing')
})
