/**
 * A Tandem relay server on 127.0.0.1: devices that can reach each other only through it sync more
 * than the library's 128 KiB default limit, the peer list says `relayed`, and only group devices get
 * a slot on it. WebRTC is off here (ICE would use non-loopback interfaces; it is tested in namespaces).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import type { RelayKeeper } from '../../main/net/relays.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'

const NOTES = 'type Notes { title: String! body: String }'
const DOCS = 160
const BODY_BYTES = 4096 // 160 × 4 KiB ≈ 640 KiB: five times the library's default relay data limit

const keeper = (n: TandemNode): RelayKeeper => n.host!.services.relayKeeper as RelayKeeper
const circuitAddrs = (n: TandemNode): string[] => n.addresses().filter((a) => a.includes('/p2p-circuit'))

async function relayAndDevices(t: Parameters<typeof startNode>[0]): Promise<{ relay: TandemNode; a: TandemNode; b: TandemNode }> {
  const relay = await startNode(t, { relayServer: true, network: { stunPort: 0 } })
  const relayAddr = relay.addresses().find((a) => a.includes('/tcp/'))!
  // No listen address of their own: the relay is the only way to reach them.
  const device = (): Promise<TandemNode> => startNode(t, { listen: [], relays: [relayAddr], network: { webrtc: false } })
  const [a, b] = [await device(), await device()]
  return { relay, a, b }
}

test('a sync of ~640 KiB between two devices reachable only through a relay completes, and the path says relayed', { timeout: 60_000 }, async (t) => {
  const { relay, a, b } = await relayAndDevices(t)
  await formGroup([relay, a, b])
  const t0 = Date.now()
  await eventually(() => circuitAddrs(a).length > 0 && circuitAddrs(b).length > 0, 'both devices hold a slot on the relay', 20_000)
  t.diagnostic(`slots reserved ${Date.now() - t0} ms after the group formed`)
  assert.ok(keeper(a).status()[0]!.reserved)
  // Each learns the other's relay address only (the relay itself holds no collection, so it cannot serve the data).
  await a.group.add({ deviceID: b.deviceID, name: 'b', addrs: circuitAddrs(b) })
  await b.group.add({ deviceID: a.deviceID, name: 'a', addrs: circuitAddrs(a) })

  await a.db.addCollections(NOTES)
  await b.db.addCollections(NOTES)
  await a.db.createDocuments('Notes', Array.from({ length: DOCS }, (_, i) => ({ title: `note ${i}`, body: String(i % 10).repeat(BODY_BYTES) })))
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'A and B connected through the relay', 20_000)
  await b.syncWith(a.deviceID).catch(() => {})
  await eventually(async () => (await b.db.listDocuments('Notes')).total === DOCS, `all ${DOCS} notes on B`, 30_000)

  const docs = await b.db.listDocuments('Notes')
  assert.equal(docs.total, DOCS)
  assert.ok(!(await relay.db.listCollections()).some((c) => c.name === 'Notes'), 'the relay holds none of the data')
  const viewOfA = b.peers().find((p) => p.peerID === a.deviceID)
  assert.ok(viewOfA !== undefined, 'A is in B\'s peer list')
  assert.equal(viewOfA.connection, 'relayed')
  assert.equal(viewOfA.paired, true)
  assert.ok(viewOfA.addresses.some((x) => x.includes('/p2p-circuit')), viewOfA.addresses.join(' '))
  const conns = b.host!.getConnections().filter((c) => c.remotePeer.toString() === a.deviceID)
  assert.ok(conns.length > 0 && conns.every((c) => c.remoteAddr.toString().includes('/p2p-circuit')), 'B reaches A only through the relay')
  const viewOfRelay = a.peers().find((p) => p.peerID === relay.deviceID)
  assert.ok(viewOfRelay?.discoveredBy.includes('relay'))
  assert.equal(viewOfRelay?.connection, 'lan') // 127.0.0.1 over TCP
})

test('the relay gives slots to group devices only', { timeout: 60_000 }, async (t) => {
  const { relay, a, b } = await relayAndDevices(t)
  await formGroup([relay, a]) // b stays a stranger
  await eventually(() => circuitAddrs(a).length > 0, 'the group device holds a slot', 20_000)
  await eventually(() => keeper(b).status()[0]!.connected, 'the stranger is connected to the relay')
  const reservations = (relay.host!.services.relay as { reservations: { has: (p: unknown) => boolean; size: number } }).reservations
  assert.equal(reservations.size, 1)
  assert.equal(circuitAddrs(b).length, 0, 'no slot for a stranger')
  assert.equal(keeper(b).status()[0]!.reserved, false)

  // Once it joins the group, the relay learns of it and it gets a slot too.
  await formGroup([relay, a, b])
  await eventually(() => circuitAddrs(b).length > 0, 'the new group device gets a slot', 40_000)
  assert.equal(reservations.size, 2)
})

test('a relay address without /p2p/<peer ID> is refused with a clear error', async (t) => {
  await assert.rejects(startNode(t, { relays: ['/ip4/127.0.0.1/tcp/9'] }), (err: Error & { code?: string }) =>
    err.code === 'INVALID_INPUT' && /\/p2p\//.test(err.message))
})
