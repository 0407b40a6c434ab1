/**
 * What connecting costs: each device pulls from the other once (its own head exchange), and a new
 * device joining a group makes no device pull from the others it was already in step with.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import { eventually, formGroup, joinGroup, startNode } from '../helpers/nodes.ts'

/** The devices each node synced with, from now on. */
function syncs(node: TandemNode): string[] {
  const with_: string[] = []
  node.on('sync', (r) => with_.push(r.peer))
  return with_
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

test('on connect each device pulls from the other once; a third device joining makes the first two pull from nobody', async (t) => {
  const opts = { antiEntropyMs: 0 }
  const [a, b] = [await startNode(t, opts), await startNode(t, opts)]
  for (const n of [a, b]) await n.db.addCollections('type Notes { title: String }')
  await a.db.createDocument('Notes', { title: 'one' })
  // Its gossip reached nobody: A nudges the devices connected a second later (none, by then).
  await settle(1200)
  const [byA, byB] = [syncs(a), syncs(b)]
  await formGroup([a, b])
  await eventually(async () => (await b.db.listDocuments('Notes')).total === 1, 'the note on B')
  await settle(1500)
  assert.deepEqual(byA, [b.deviceID], 'A synced with B once')
  assert.deepEqual(byB, [a.deviceID], 'B synced with A once')

  // C joins: A and B each sync with C (and C with each), not with each other.
  const c = await startNode(t, opts)
  await c.db.addCollections('type Notes { title: String }')
  const byC = syncs(c)
  // C alone joins (re-adding A and B to each other would count as news).
  await joinGroup(c, [a, b])
  await eventually(async () => (await c.db.listDocuments('Notes')).total === 1, 'the note on C')
  await eventually(() => c.connectedDevices().length === 2 && !a.syncing && !b.syncing && !c.syncing, 'all three connected, settled')
  await settle(1500)
  assert.deepEqual(byA.slice(1), [c.deviceID], 'A synced with C alone')
  assert.deepEqual(byB.slice(1), [c.deviceID], 'B synced with C alone')
  assert.deepEqual([...byC].sort(), [a.deviceID, b.deviceID].sort(), 'C with each once')
})

test('blocks by a device this one learns of only in the group exchange of a connect are fetched in that connect, none refused', async (t) => {
  const opts = { antiEntropyMs: 0 } // no second chance: what the connect's sync refuses stays missing
  const [a, b, d] = [await startNode(t, opts), await startNode(t, opts), await startNode(t, opts)]
  for (const n of [a, b, d]) await n.db.addCollections('type Notes { title: String }')
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID) && b.connectedDevices().includes(a.deviceID) && !a.syncing && !b.syncing, 'A and B connected, in step')
  await settle(500) // both dials over: nothing reconnects A once it pauses
  // A goes offline; D joins through B alone and writes; its notes reach B; D goes for good.
  await a.pause()
  await eventually(() => !b.connectedDevices().includes(a.deviceID), 'A offline')
  await d.group.setSecret(b.group.secret.bytes)
  await b.group.add({ deviceID: d.deviceID, name: 'd', addrs: d.addresses() })
  await d.group.add({ deviceID: b.deviceID, name: 'b', addrs: b.addresses() })
  await d.db.createDocuments('Notes', Array.from({ length: 500 }, (_, i) => ({ title: `from D ${i}` })))
  await eventually(async () => (await b.db.listDocuments('Notes', { limit: 0 })).total === 500, 'D\'s notes on B')
  await d.stop()
  assert.equal(a.group.has(d.deviceID), false, 'A has not heard of D')
  // A comes back: B's group state introduces D while A's sync with B is under way. A takes that
  // state in slowly (a group exchange took 100–350 ms of a connect on a busy 2-core machine): its
  // head exchange with B is over well before, and it must not fetch D's blocks until it knows D.
  const merge = a.group.merge.bind(a.group)
  a.group.merge = async (...args) => { await settle(1000); return merge(...args) }
  const reports: Array<{ peer: string; fetched: number; rejected: number }> = []
  a.on('sync', (r) => reports.push(r))
  a.resume()
  await eventually(async () => (await a.db.listDocuments('Notes', { limit: 0 })).total === 500, 'D\'s notes on A, through B')
  assert.equal(a.group.has(d.deviceID), true)
  const withB = await eventually(() => { const xs = reports.filter((r) => r.peer === b.deviceID && r.fetched > 0); return xs.length > 0 && xs }, 'the report of A\'s sync with B')
  assert.ok(withB.every((r) => r.rejected === 0), `no block refused: ${JSON.stringify(withB)}`)
})

test('devices that learn of each other at once keep one connection a pair, not one each way', async (t) => {
  const nodes = [await startNode(t), await startNode(t), await startNode(t), await startNode(t)]
  // Each learns of every other at once (as when a group forms, or a new device is introduced to
  // every member): both ends of each pair would dial.
  const secret = nodes[0]!.group.secret.bytes
  for (const n of nodes.slice(1)) await n.group.setSecret(secret)
  await Promise.all(nodes.flatMap((a) => nodes.filter((b) => b !== a).map((b) => a.group.add({ deviceID: b.deviceID, name: b.deviceID.slice(-4), addrs: b.addresses() }))))
  await eventually(() => nodes.every((n) => n.connectedDevices().length === 3), 'every device connected to every other')
  await settle(2500) // past the second dialer's wait, and a redial's
  for (const n of nodes) {
    const conns = n.host!.getConnections()
    assert.equal(conns.length, 3, `${n.deviceID.slice(-4)}: one connection to each of the three others (${conns.map((c) => `${c.remotePeer.toString().slice(-4)} ${c.direction}`).join(', ')})`)
    // The device with the lower ID dialed.
    for (const c of conns) assert.equal(c.direction === 'outbound', n.deviceID < c.remotePeer.toString(), `${n.deviceID.slice(-4)} → ${c.remotePeer.toString().slice(-4)}: ${c.direction}`)
  }
})
