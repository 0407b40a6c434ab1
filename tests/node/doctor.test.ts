/**
 * The connectivity doctor on loopback: libp2p's real dial errors classified in plain words
 * (refused, handshake timeout, peer ID mismatch, no address, several addresses at once), the rules
 * that turn facts into suggestions, and a two-node report (path, rtt, offline with last seen).
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createHost, type Host } from '../../main/net/host.ts'
import { classifyDialError, DialLog } from '../../main/node/dial-log.ts'
import { deviceSuggestions, reachabilityOf, selfSuggestions, type DeviceFacts, type SelfFacts } from '../../main/node/doctor.ts'
import { createApi } from '../../main/api/implementation.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'

async function host(t: TestContext): Promise<Host> {
  const h = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], isMember: () => true, webrtc: false })
  t.after(() => h.stop())
  return h
}

async function randomPeer(): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

async function dialError(h: Host, target: Parameters<Host['dial']>[0], ms = 5000): Promise<unknown> {
  try {
    await h.dial(target, { signal: AbortSignal.timeout(ms) })
  } catch (err) {
    return err
  }
  throw new Error('the dial was expected to fail')
}

function bare(h: Host): string {
  return h.getMultiaddrs()[0]!.toString().replace(/\/p2p\/.*/, '')
}

test('dial errors from libp2p are classified in plain words', async (t) => {
  const a = await host(t)
  const b = await host(t)
  const expected = await randomPeer()

  // A port where nothing listens.
  const refused = classifyDialError(await dialError(a, multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${expected}`)))
  assert.equal(refused.kind, 'refused')
  assert.match(refused.text, /refused/i)
  assert.equal(refused.failures[0]!.address, '127.0.0.1:1')

  // Another device listens there: Noise proves a different key.
  const mismatch = classifyDialError(await dialError(a, multiaddr(`${bare(b)}/p2p/${expected}`)))
  assert.equal(mismatch.kind, 'peer-id-mismatch')
  assert.equal(mismatch.failures[0]!.answeredBy, b.peerId.toString())

  // Something accepts the connection and never speaks.
  const silent = createServer(() => {}).listen(0, '127.0.0.1')
  t.after(() => { silent.close() })
  await new Promise((r) => silent.once('listening', r))
  const port = (silent.address() as { port: number }).port
  const timeout = classifyDialError(await dialError(a, multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${expected}`), 1500))
  assert.equal(timeout.kind, 'timeout')

  // A peer with no address at all.
  const none = classifyDialError(await dialError(a, peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
  assert.equal(none.kind, 'no-address')

  // Several addresses, failing differently: each is kept, the most telling names the attempt.
  const p = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  await a.peerStore.merge(p, { multiaddrs: [multiaddr('/ip4/127.0.0.1/tcp/1'), multiaddr(bare(b))] })
  const both = classifyDialError(await dialError(a, p))
  assert.equal(both.kind, 'peer-id-mismatch')
  assert.deepEqual(both.failures.map((f) => f.kind).sort(), ['peer-id-mismatch', 'refused'])

  // Socket codes the loopback cannot produce (the netns test meets them for real).
  assert.equal(classifyDialError(Object.assign(new Error('connect EHOSTUNREACH 10.3.0.2:9171'), { code: 'EHOSTUNREACH' })).kind, 'no-route')
  assert.equal(classifyDialError(Object.assign(new Error('connect ENETUNREACH'), { code: 'ENETUNREACH' })).kind, 'no-route')
  assert.equal(classifyDialError(new AggregateError([Object.assign(new Error('x'), { code: 'ETIMEDOUT' })], 'All multiaddr dials failed')).kind, 'timeout')
  assert.equal(classifyDialError(Object.assign(new Error('denied'), { name: 'DialDeniedError' })).kind, 'denied')
  // libp2p's own per-address timeout (6 s) aborts the transport's dial: met for real in tests/netns/doctor.test.ts.
  assert.equal(classifyDialError(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' })).kind, 'timeout')
  assert.equal(classifyDialError('weird').kind, 'other')
})

test('the dial log records what host.dial did, by peer, newest first', async (t) => {
  const a = await host(t)
  const b = await host(t)
  const log = new DialLog()
  log.attach(a)
  const wrong = await randomPeer()
  await a.dial(multiaddr(`${bare(b)}/p2p/${wrong}`)).catch(() => {})
  await a.dial(b.getMultiaddrs()[0]!)
  const failed = log.of(wrong)
  assert.equal(failed.length, 1)
  assert.equal(failed[0]!.ok, false)
  assert.equal(failed[0]!.kind, 'peer-id-mismatch')
  const ok = log.of(b.peerId.toString())
  assert.equal(ok[0]!.ok, true)
  assert.ok(ok[0]!.durationMs >= 0)
})

const LAN_SELF: SelfFacts = { network: 'online', reachability: 'private-only', relaysConfigured: 0, relayServer: false, onOurLan: (ip) => ip.startsWith('192.168.1.') }
const facts = (f: Partial<DeviceFacts>): DeviceFacts => ({ connected: false, path: null, lastSeen: null, dials: [], addresses: [], foundByMdns: false, ...f })
const codes = (s: Array<{ code: string }>): string[] => s.map((x) => x.code)

test('suggestions follow from the facts', () => {
  const now = Date.parse('2026-11-28T16:40:00Z')
  assert.deepEqual(codes(deviceSuggestions(facts({ connected: true, path: 'lan' }), LAN_SELF, now)), [])
  assert.deepEqual(codes(deviceSuggestions(facts({ connected: true, path: 'relayed' }), LAN_SELF, now)), ['RELAYED_ONLY'])
  const offline = deviceSuggestions(facts({ lastSeen: now - 5 * 60_000, addresses: ['/ip4/192.168.1.7/tcp/9171'] }), LAN_SELF, now)
  assert.deepEqual(codes(offline), ['DEVICE_OFFLINE'])
  assert.match(offline[0]!.text, /offline — last seen 5 min ago \(2026-11-28 16:35 UTC\)/)
  assert.deepEqual(codes(deviceSuggestions(facts({ addresses: ['/ip4/10.3.0.2/tcp/9171'] }), LAN_SELF, now)), ['NAT_NO_RELAY', 'NEVER_CONNECTED'])
  // With a relay configured, or the other device reachable through one, NAT is no dead end.
  assert.deepEqual(codes(deviceSuggestions(facts({ addresses: ['/ip4/10.3.0.2/tcp/9171'] }), { ...LAN_SELF, relaysConfigured: 1 }, now)), ['NEVER_CONNECTED'])
  assert.deepEqual(codes(deviceSuggestions(facts({ addresses: [] }), LAN_SELF, now)), ['NO_ADDRESS', 'NEVER_CONNECTED'])
  const mismatch = deviceSuggestions(facts({
    lastSeen: now - 1000, addresses: ['/ip4/192.168.1.7/tcp/9171'],
    dials: [{ at: now, durationMs: 3, ok: false, target: 'x', kind: 'peer-id-mismatch', failures: [{ kind: 'peer-id-mismatch', text: 't', address: '192.168.1.7:9171' }] }],
  }), LAN_SELF, now)
  assert.deepEqual(codes(mismatch), ['PEER_ID_MISMATCH'])
  assert.match(mismatch[0]!.text, /The address 192\.168\.1\.7:9171 answered with a different device — it may have been reinstalled; pair again/)
  assert.deepEqual(codes(deviceSuggestions(facts({}), { ...LAN_SELF, network: 'paused' }, now)), [])

  const base = { network: 'online' as const, relays: [], devices: 1, uptimeMs: 20_000, mdnsGraceMs: 15_000 }
  const mdns = { enabled: true, found: 0, lastFoundAt: null, since: 0 }
  assert.deepEqual(codes(selfSuggestions({ ...base, mdns })), ['MDNS_NOTHING_FOUND'])
  assert.deepEqual(codes(selfSuggestions({ ...base, mdns, uptimeMs: 5_000 })), [], 'not before mDNS had its chance')
  assert.deepEqual(codes(selfSuggestions({ ...base, mdns: { ...mdns, found: 1 } })), [])
  assert.deepEqual(codes(selfSuggestions({ ...base, mdns: { ...mdns, enabled: false } })), [])
  assert.deepEqual(codes(selfSuggestions({ ...base, mdns, network: 'paused' })), ['NETWORK_PAUSED'])
  assert.deepEqual(codes(selfSuggestions({ ...base, mdns: { ...mdns, found: 1 }, relays: [{ relay: 'r', connected: false, reserved: false }] })), ['RELAY_DOWN'])

  const own = new Set(['10.2.0.2'])
  assert.equal(reachabilityOf({ network: 'online', addresses: ['/ip4/10.2.0.2/tcp/9171/p2p/x'], observed: [{ address: '/ip4/11.0.2.2/tcp/40000', by: 'r', at: 1 }], relays: [], own }).reachability, 'behind-nat')
  assert.equal(reachabilityOf({ network: 'online', addresses: ['/ip4/11.0.1.2/tcp/4001/p2p/x'], observed: [], relays: [], own }).reachability, 'public')
  assert.equal(reachabilityOf({ network: 'online', addresses: ['/ip4/10.2.0.2/tcp/9171/p2p/x'], observed: [{ address: '/ip4/11.0.1.2/tcp/4001/p2p/r/p2p-circuit', by: 'b', at: 1 }], relays: [], own }).reachability, 'private-only', 'a circuit is no observation of us')
  assert.equal(reachabilityOf({ network: 'online', addresses: ['/ip4/10.2.0.2/tcp/9171/p2p/x'], observed: [], relays: [], own }).reachability, 'private-only')
  assert.equal(reachabilityOf({ network: 'paused', addresses: [], observed: [], relays: [], own }).reachability, 'offline')
})

test('a device introduced by another one is known by the introducer', async (t) => {
  const a = await startNode(t)
  const b = await startNode(t)
  const c = await startNode(t)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'A and B connected')
  await b.group.add({ deviceID: c.deviceID, name: 'c', addrs: c.addresses() })
  const dev = await eventually(async () => (await a.doctor({ ping: false })).devices.find((d) => d.peerID === c.deviceID), 'A learned of C from B')
  assert.ok(dev.knownBy.includes('introducer'), dev.knownBy.join())
  assert.ok(!dev.knownBy.includes('paired'))
  const bHere = (await a.doctor({ ping: false })).devices.find((d) => d.peerID === b.deviceID)!
  assert.ok(bHere.knownBy.includes('paired'))
})

test('two nodes: the report shows the LAN path with its rtt, then the device offline with its last dial refused', async (t) => {
  const a = await startNode(t)
  const b = await startNode(t)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  const api = createApi(a)
  const r1 = await api.call('doctor.report', {})
  assert.equal(r1.ok, true)
  const report = (r1 as { result: Awaited<ReturnType<typeof a.doctor>> }).result
  const dev = report.devices.find((d) => d.peerID === b.deviceID)!
  assert.equal(dev.connected, true)
  assert.equal(dev.path, 'lan')
  assert.equal(dev.pathText, 'LAN direct')
  assert.equal(typeof dev.rttMs, 'number')
  assert.ok(dev.knownBy.includes('paired') && dev.knownBy.includes('known-address'), dev.knownBy.join())
  assert.deepEqual(dev.suggestions, [])
  assert.equal(report.self.network, 'online')
  assert.equal(report.self.mdns.enabled, false)
  await eventually(async () => (await a.doctor({ ping: false })).self.observed.some((o) => o.by === b.deviceID), 'identify told A how B saw it')

  const bad = await api.call('doctor.report', { ping: 'yes' })
  assert.equal(bad.ok, false)
  assert.equal((bad as { error: { code: string } }).error.code, 'INVALID_INPUT')

  await b.stop()
  const off = await eventually(async () => {
    const d = (await a.doctor()).devices.find((x) => x.peerID === b.deviceID)!
    return !d.connected && d.dials.some((x) => !x.ok) ? d : undefined
  }, 'A redialed B and failed', 20_000)
  assert.equal(off.dials.find((x) => !x.ok)!.kind, 'refused')
  assert.deepEqual(off.suggestions.map((s) => s.code), ['DEVICE_OFFLINE'])
  assert.match(off.suggestions[0]!.text, /Device is offline — last seen \d+ s ago/)
})
