/**
 * The connectivity doctor's messages against real failures, in network namespaces this test creates
 * (linked only to each other; mDNS only inside them). Needs root and iptables.
 * - Blocked multicast: iptables drops mDNS (224.0.0.251 udp/5353) in one namespace → "No device was
 *   found by mDNS …"; a second pair on an open link finds each other and gets no such message.
 * - NAT without relay: two homes behind NAT routers, each paired with the other's private address →
 *   dials fail with "no route", "Both devices are behind NAT and no relay is configured — add one".
 * - Wrong peer ID: a device record whose address now belongs to another device → peer ID mismatch,
 *   "it may have been reinstalled; pair again".
 * - Device offline: a connected device (LAN path, measured rtt) stops → refused dials, "offline — last seen …".
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { enableForwarding, iptables, linkRouted, makeNatRouter, setDefaultRoute, Topology } from '../helpers/netns.ts'
import { NsNode } from '../helpers/ns-client.ts'
import { eventually } from '../helpers/nodes.ts'
import type { DoctorDevice, DoctorReport } from '../../shared/api/doctor.ts'

// @libp2p/mdns asks at start and again every 10 s: judge after one repeat.
const MDNS_GRACE_MS = 11_000

const codes = (r: { suggestions: Array<{ code: string }> }): string[] => r.suggestions.map((s) => s.code)
const device = (r: DoctorReport, id: string): DoctorDevice => {
  const d = r.devices.find((x) => x.peerID === id)
  if (d === undefined) throw new Error(`no device ${id} in the report`)
  return d
}

test('blocked multicast: no device found by mDNS → the pair-by-QR suggestion; an open link finds its peer', { timeout: 60_000 }, async (t) => {
  const t0 = Date.now()
  const topo = await Topology.create(t)
  const [nsA, nsB, nsC, nsD] = await Promise.all(['a', 'b', 'c', 'd'].map((s) => topo.addNamespace(s)))
  const blocked = await topo.link(nsA!, nsB!, { subnet: 0 })
  const open = await topo.link(nsC!, nsD!, { subnet: 1 })
  for (const chain of ['INPUT', 'OUTPUT']) {
    await iptables(nsA!, '-A', chain, '-d', '224.0.0.251', '-p', 'udp', '--dport', '5353', '-j', 'DROP')
  }
  const spawn = (ns: string, ip: string): Promise<NsNode> => NsNode.spawn(t, topo, ns, { listen: [`/ip4/${ip}/tcp/0`], mdns: true })
  const [a, b, c, d] = await Promise.all([spawn(nsA!, blocked.addrA), spawn(nsB!, blocked.addrB), spawn(nsC!, open.addrA), spawn(nsD!, open.addrB)])
  const upAt = Date.now()

  const ra = await eventually(async () => {
    const r = await a.call('doctor', { mdnsGraceMs: MDNS_GRACE_MS })
    return codes(r).includes('MDNS_NOTHING_FOUND') ? r : undefined
  }, 'the mDNS suggestion on A', 25_000)
  t.diagnostic(`A: suggestion after ${Date.now() - upAt} ms up: ${ra.suggestions.find((s) => s.code === 'MDNS_NOTHING_FOUND')!.text}`)
  assert.equal(ra.self.mdns.enabled, true)
  assert.equal(ra.self.mdns.found, 0)
  assert.equal(ra.suggestions.find((s) => s.code === 'MDNS_NOTHING_FOUND')!.text,
    'No device was found by mDNS on this network — multicast may be blocked; pair with a QR code instead.')
  // B's queries and answers never cross A's firewall either: B found nobody.
  assert.equal((await b.call('doctor', { mdnsGraceMs: MDNS_GRACE_MS })).self.mdns.found, 0)

  // The control: same grace, an open link.
  const rc = await c.call('doctor', { mdnsGraceMs: MDNS_GRACE_MS })
  assert.ok(rc.self.mdns.found >= 1, `C found D by mDNS: ${JSON.stringify(rc.self.mdns)}`)
  assert.ok(!codes(rc).includes('MDNS_NOTHING_FOUND'), `no mDNS suggestion on C: ${JSON.stringify(rc.suggestions)}`)
  assert.ok((await d.call('doctor', { mdnsGraceMs: MDNS_GRACE_MS })).self.mdns.found >= 1)
  // Paired, D is listed as found by mDNS too.
  await c.call('groupAdd', { deviceID: d.deviceID, name: 'd', addrs: [] })
  assert.ok(device(await c.call('doctor', {}), d.deviceID).knownBy.includes('mdns'))
  t.diagnostic(`multicast test ${Date.now() - t0} ms`)
})

test('NAT without relay: dials find no route, and the doctor says to add a relay', { timeout: 60_000 }, async (t) => {
  const t0 = Date.now()
  const topo = await Topology.create(t)
  const [inet, ra, rb, ha, hb] = await Promise.all(['net', 'ra', 'rb', 'ha', 'hb'].map((s) => topo.addNamespace(s)))
  await enableForwarding(inet!)
  const homes: Array<[string, string, number]> = [[ra!, ha!, 2], [rb!, hb!, 3]]
  for (const [router, home, i] of homes) {
    await linkRouted(topo, router, inet!, { addrA: `11.0.${i}.2/24`, addrB: `11.0.${i}.1/24`, devA: 'wan', devB: `tohome${i}` })
    await setDefaultRoute(router, `11.0.${i}.1`)
    await linkRouted(topo, home, router, { addrA: `10.${i}.0.2/24`, addrB: `10.${i}.0.1/24`, devA: 'eth0', devB: 'lan' })
    await setDefaultRoute(home, `10.${i}.0.1`)
    await makeNatRouter(router, 'lan', 'wan')
  }
  const [a, b] = await Promise.all([
    NsNode.spawn(t, topo, ha!, { listen: ['/ip4/10.2.0.2/tcp/9171'] }),
    NsNode.spawn(t, topo, hb!, { listen: ['/ip4/10.3.0.2/tcp/9171'] }),
  ])
  // Paired (say, by an invite read elsewhere) with the addresses each saw at home: both private.
  await b.call('setSecret', { secret: await a.call('groupSecret') })
  await a.call('groupAdd', { deviceID: b.deviceID, name: 'b', addrs: ['/ip4/10.3.0.2/tcp/9171'] })
  await b.call('groupAdd', { deviceID: a.deviceID, name: 'a', addrs: ['/ip4/10.2.0.2/tcp/9171'] })

  const dev = await eventually(async () => {
    const d = device(await a.call('doctor', {}), b.deviceID)
    return d.dials.some((x) => !x.ok) ? d : undefined
  }, 'a failed dial from A to B', 20_000)
  const failed = dev.dials.find((x) => !x.ok)!
  t.diagnostic(`A → B: ${failed.kind} after ${failed.durationMs} ms: ${failed.text}`)
  assert.equal(failed.kind, 'no-route', JSON.stringify(failed))
  assert.equal(dev.connected, false)
  assert.deepEqual(codes(dev), ['NAT_NO_RELAY', 'NEVER_CONNECTED'])
  assert.match(dev.suggestions[0]!.text, /^Both devices are behind NAT and no relay is configured — add one/)
  const self = (await a.call('doctor', {})).self
  assert.equal(self.reachability, 'private-only')
  assert.deepEqual(self.relays, [])
  t.diagnostic(`NAT test ${Date.now() - t0} ms`)
})

test('wrong peer ID, a silent address, device offline: the mismatch, a timeout, the LAN path with rtt, then offline with last seen', { timeout: 60_000 }, async (t) => {
  const t0 = Date.now()
  const topo = await Topology.create(t)
  const [nsA, nsB, nsC, nsD] = await Promise.all(['a', 'b', 'c', 'd'].map((s) => topo.addNamespace(s)))
  const ab = await topo.link(nsA!, nsB!, { subnet: 0, multicast: false })
  const ac = await topo.link(nsA!, nsC!, { subnet: 1, multicast: false })
  // A host that drops what comes to the Tandem port (a firewall; a device asleep behind one).
  const ad = await topo.link(nsA!, nsD!, { subnet: 2, multicast: false })
  await iptables(nsD!, '-A', 'INPUT', '-p', 'tcp', '--dport', '9171', '-j', 'DROP')
  const [a, b, c] = await Promise.all([
    NsNode.spawn(t, topo, nsA!, { listen: [`/ip4/${ab.addrA}/tcp/9171`, `/ip4/${ac.addrA}/tcp/9171`, `/ip4/${ad.addrA}/tcp/9171`] }),
    NsNode.spawn(t, topo, nsB!, { listen: [`/ip4/${ab.addrB}/tcp/9171`] }),
    NsNode.spawn(t, topo, nsC!, { listen: [`/ip4/${ac.addrB}/tcp/9171`] }),
  ])
  await b.call('setSecret', { secret: await a.call('groupSecret') })
  await a.call('groupAdd', { deviceID: b.deviceID, name: 'b', addrs: [`/ip4/${ab.addrB}/tcp/9171`] })
  await b.call('groupAdd', { deviceID: a.deviceID, name: 'a', addrs: [`/ip4/${ab.addrA}/tcp/9171`] })
  // A device paired long ago at the address where C (another install) now listens.
  const gone = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  await a.call('groupAdd', { deviceID: gone, name: 'old laptop', addrs: [`/ip4/${ac.addrB}/tcp/9171`] })
  const silent = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  await a.call('groupAdd', { deviceID: silent, name: 'behind a firewall', addrs: [`/ip4/${ad.addrB}/tcp/9171`] })

  const mismatch = await eventually(async () => {
    const d = device(await a.call('doctor', {}), gone)
    return d.dials.some((x) => x.kind === 'peer-id-mismatch') ? d : undefined
  }, 'the mismatch on A', 20_000)
  const f = mismatch.dials.find((x) => x.kind === 'peer-id-mismatch')!.failures!.find((x) => x.kind === 'peer-id-mismatch')!
  assert.equal(f.answeredBy, c.deviceID, 'the device that answered is named')
  assert.equal(f.address, `${ac.addrB}:9171`)
  assert.deepEqual(codes(mismatch), ['PEER_ID_MISMATCH'])
  assert.match(mismatch.suggestions[0]!.text, /answered with a different device — it may have been reinstalled; pair again/)
  t.diagnostic(`mismatch: ${mismatch.suggestions[0]!.text}`)

  const up = await eventually(async () => {
    const d = device(await a.call('doctor', {}), b.deviceID)
    return d.connected && d.rttMs !== null ? d : undefined
  }, 'A connected to B with an rtt', 20_000)
  assert.equal(up.path, 'lan')
  assert.equal(up.pathText, 'LAN direct')
  assert.deepEqual(up.suggestions, [])
  t.diagnostic(`A → B: ${up.pathText}, ping ${up.rttMs} ms`)

  await b.stop()
  const off = await eventually(async () => {
    const d = device(await a.call('doctor', {}), b.deviceID)
    return !d.connected && d.dials.some((x) => !x.ok) ? d : undefined
  }, 'A failed to redial B', 20_000)
  assert.equal(off.dials.find((x) => !x.ok)!.kind, 'refused')
  assert.deepEqual(codes(off), ['DEVICE_OFFLINE'])
  assert.match(off.suggestions[0]!.text, /^Device is offline — last seen \d+ s ago \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)/)
  assert.ok(off.lastSeen !== null)
  t.diagnostic(`offline: ${off.suggestions[0]!.text}`)

  const quiet = await eventually(async () => {
    const d = device(await a.call('doctor', {}), silent)
    return d.dials.some((x) => !x.ok) ? d : undefined
  }, 'the dial into the firewall gave up', 25_000)
  const q = quiet.dials.find((x) => !x.ok)!
  t.diagnostic(`firewall: ${q.kind} after ${q.durationMs} ms: ${q.text}`)
  assert.equal(q.kind, 'timeout', JSON.stringify(q))
  assert.deepEqual(codes(quiet), ['NEVER_CONNECTED'])
  t.diagnostic(`mismatch/offline test ${Date.now() - t0} ms`)
})
