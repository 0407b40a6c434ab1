/**
 * Nearby pairing on a LAN in network namespaces: two devices find each other by mDNS (listed by
 * name), one asks to pair — refused until the other opens "Pair nearby" — and shows a code; the
 * person types it on the other; from then on they sync — a document made on one appears on the
 * other, and an edit on the other comes back.
 * Needs root (fails otherwise); all traffic stays inside the namespaces this test creates.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bridgeLan, Topology } from '../helpers/netns.ts'
import { MAX_INCOMING, MAX_PENDING_PER_SOURCE } from '../../main/net/nearby/constants.ts'
import { NsNode } from '../helpers/ns-client.ts'
import type { NodeEvent } from '../helpers/ns-node.ts'
import { eventually } from '../helpers/nodes.ts'

const BOOKS = 'type Books { title: String! pages: Int }'
type Req = Extract<NodeEvent, { event: 'pairing:request' }>
type Res = Extract<NodeEvent, { event: 'pairing:resolved' }>

test('LAN: mDNS lists the other device by name, nearby pairing by typing the code, then they sync', { timeout: 120_000 }, async (t) => {
  const topo = await Topology.create(t)
  const nsA = await topo.addNamespace('a')
  const nsB = await topo.addNamespace('b')
  const link = await topo.link(nsA, nsB)
  const [a, b] = await Promise.all([
    NsNode.spawn(t, topo, nsA, { listen: [`/ip4/${link.addrA}/tcp/0`], mdns: true, name: 'laptop' }),
    NsNode.spawn(t, topo, nsB, { listen: [`/ip4/${link.addrB}/tcp/0`], mdns: true, name: 'phone' }),
  ])
  const bothUp = Math.max(a.ready.readyAt, b.ready.readyAt)
  const seenB = await eventually(async () => (await a.call('nearbyDevices')).find((d) => d.peerID === b.deviceID && d.name === 'phone'), 'A lists B as nearby, by name', 20_000)
  const seenA = await eventually(async () => (await b.call('nearbyDevices')).find((d) => d.peerID === a.deviceID && d.name === 'laptop'), 'B lists A as nearby, by name', 20_000)
  t.diagnostic(`mDNS: A listed B ${seenB.discoveredAt - bothUp} ms and B listed A ${seenA.discoveredAt - bothUp} ms after both were up`)
  assert.ok(seenB.addresses.some((x) => x.startsWith(`/ip4/${link.addrB}/tcp/`)), seenB.addresses.join(' '))

  // A has not opened "Pair nearby": B's request is refused, with the reason.
  await assert.rejects(b.call('requestPairing', { peerID: a.deviceID }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'PAIRING_CLOSED', err.message)
    assert.match(err.message, /laptop is not accepting pairing requests now: open Pair nearby on it/)
    return true
  })
  await a.call('openPairing')
  const asked = Date.now()
  const { id, code } = await b.call('requestPairing', { peerID: a.deviceID })
  const req = await a.waitForEvent((e): e is Req => e.event === 'pairing:request' && e.id === id, 10_000, 'the request on A')
  t.diagnostic(`request shown on A ${req.at - asked} ms after "pair" on B`)
  assert.match(code, /^\d{6}$/)
  assert.equal(req.claimedName, 'phone')
  assert.equal(req.direction, 'incoming')
  assert.equal(req.peerID, b.deviceID)
  const wrongCode = String((Number(code) + 1) % 1_000_000).padStart(6, '0')
  await assert.rejects(a.call('acceptPairing', { id, code: wrongCode }), (err: Error & { code?: string }) => err.code === 'PAIRING_WRONG_CODE')
  assert.deepEqual(await a.call('groupDevices'), [], 'a wrong code pairs nothing')
  await a.call('acceptPairing', { id, code }) // the person types the code B shows
  const [ra, rb] = await Promise.all([
    a.waitForEvent((e): e is Res => e.event === 'pairing:resolved' && e.id === id, 15_000, 'A resolved'),
    b.waitForEvent((e): e is Res => e.event === 'pairing:resolved' && e.id === id, 15_000, 'B resolved'),
  ])
  assert.equal(ra.outcome, 'accepted')
  assert.equal(rb.outcome, 'accepted')
  t.diagnostic(`nearby pairing: ${Math.max(ra.at, rb.at) - asked} ms from "pair" to both paired (a wrong and a right code typed included)`)
  assert.deepEqual(await a.call('groupDevices'), [b.deviceID])
  assert.deepEqual(await b.call('groupDevices'), [a.deviceID])
  assert.equal(await a.call('groupSecret'), await b.call('groupSecret'))
  await eventually(async () => (await a.call('nearbyDevices')).length === 0, 'a paired device is no longer listed as nearby')

  await a.call('addCollections', { sdl: BOOKS })
  await b.call('addCollections', { sdl: BOOKS })
  await eventually(async () => (await a.call('connected')).devices.includes(b.deviceID), 'A and B connected')
  const made = Date.now()
  const docID = await a.call('createDocument', { collection: 'Books', fields: { title: 'Dune', pages: 412 } })
  const doc = await eventually(() => b.call('getDocument', { collection: 'Books', id: docID }).catch(() => undefined), 'the document on B')
  t.diagnostic(`a new document reached B in ${Date.now() - made} ms`)
  assert.equal(doc.fields.title, 'Dune')
  await b.call('updateDocument', { collection: 'Books', id: docID, fields: { pages: 500 } })
  await eventually(async () => (await a.call('getDocument', { collection: 'Books', id: docID })).fields.pages === 500, 'B\'s edit on A')
})

test('LAN: a flood of requests from many peer IDs on one address does not block a real pairing', { timeout: 120_000 }, async (t) => {
  const topo = await Topology.create(t)
  const [nsA, nsB, nsS] = [await topo.addNamespace('a'), await topo.addNamespace('b'), await topo.addNamespace('s')]
  const [ipA, ipB, ipS] = await bridgeLan(topo, [nsA, nsB, nsS])
  const [a, b, s] = await Promise.all([
    NsNode.spawn(t, topo, nsA, { listen: [`/ip4/${ipA}/tcp/0`], name: 'laptop' }),
    NsNode.spawn(t, topo, nsB, { listen: [`/ip4/${ipB}/tcp/0`], name: 'phone' }),
    NsNode.spawn(t, topo, nsS, { listen: [`/ip4/${ipS}/tcp/0`], name: 'stranger' }),
  ])
  await a.call('openPairing')
  const started = Date.now()
  const count = 3 * MAX_INCOMING
  const flood = await s.call('floodNearby', { to: a.ready.addrs[0]!, count })
  const tally = new Map<string, number>()
  for (const r of flood) tally.set(`${r.t} ${r.code ?? ''}`.trim(), (tally.get(`${r.t} ${r.code ?? ''}`.trim()) ?? 0) + 1)
  t.diagnostic(`${count} requests from ${count} peer IDs on ${ipS} in ${Date.now() - started} ms: ${JSON.stringify(Object.fromEntries(tally))}`)
  assert.equal(tally.get('shown'), MAX_PENDING_PER_SOURCE, 'one address holds two pending requests, not all of the slots')
  assert.equal(tally.get('error PAIRING_BUSY'), count - MAX_PENDING_PER_SOURCE, 'the rest are refused as busy')

  // The real device, on its own address, still pairs while the flood's requests are pending.
  await b.call('dial', { addr: a.ready.addrs[0]! })
  const { id, code } = await b.call('requestPairing', { peerID: a.deviceID })
  await a.waitForEvent((e): e is Req => e.event === 'pairing:request' && e.id === id, 10_000, 'the real request on A')
  await a.call('acceptPairing', { id, code })
  await b.waitForEvent((e): e is Res => e.event === 'pairing:resolved' && e.id === id && e.outcome === 'accepted', 10_000, 'paired on B')
  assert.deepEqual(await a.call('groupDevices'), [b.deviceID])
  assert.deepEqual(await b.call('groupDevices'), [a.deviceID])
})
