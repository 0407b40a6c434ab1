/**
 * The doctor through a relay, in network namespaces this test creates (linked only to each other;
 * public addresses 11.0.0.0/8 exist only inside them): two homes behind NAT routers, a relay-server
 * node on a public address, hole punching off so the devices stay relayed. The doctor sees the path
 * `relayed` with a ping, the device known through the relay, this device behind NAT at its router's
 * public address (identify's observed address from the relay) and reachable through the relay; when
 * the relay goes away, RELAY_DOWN. Needs root and iptables.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { enableForwarding, linkRouted, makeNatRouter, setDefaultRoute, Topology } from '../helpers/netns.ts'
import { WanNode } from '../helpers/wan-client.ts'
import { eventually } from '../helpers/nodes.ts'
import type { DoctorReport } from '../../shared/api/doctor.ts'
import type { RelayStatus } from '../../main/net/relays.ts'

const RELAY_IP = '11.0.1.2'
const RELAY_PORT = 4001

test('relayed devices: path relayed with rtt, behind NAT as the relay sees us, then the relay down', { timeout: 60_000 }, async (t) => {
  const t0 = Date.now()
  const topo = await Topology.create(t)
  const [inet, rly, ra, rb, ha, hb] = await Promise.all(['net', 'rly', 'ra', 'rb', 'ha', 'hb'].map((s) => topo.addNamespace(s)))
  await enableForwarding(inet!)
  await linkRouted(topo, rly!, inet!, { addrA: `${RELAY_IP}/24`, addrB: '11.0.1.1/24' })
  await setDefaultRoute(rly!, '11.0.1.1')
  for (const [router, home, i] of [[ra!, ha!, 2], [rb!, hb!, 3]] as Array<[string, string, number]>) {
    await linkRouted(topo, router, inet!, { addrA: `11.0.${i}.2/24`, addrB: `11.0.${i}.1/24`, devA: 'wan', devB: `tohome${i}` })
    await setDefaultRoute(router, `11.0.${i}.1`)
    await linkRouted(topo, home, router, { addrA: `10.${i}.0.2/24`, addrB: `10.${i}.0.1/24`, devA: 'eth0', devB: 'lan' })
    await setDefaultRoute(home, `10.${i}.0.1`)
    await makeNatRouter(router, 'lan', 'wan')
  }
  const relay = await WanNode.spawn(t, topo, rly!, { name: 'relay', listen: [`/ip4/${RELAY_IP}/tcp/${RELAY_PORT}`], relayServer: true })
  const relayAddr = `/ip4/${RELAY_IP}/tcp/${RELAY_PORT}/p2p/${relay.deviceID}`
  const home = (ns: string, name: string, i: number): Promise<WanNode> =>
    WanNode.spawn(t, topo, ns, { name, listen: [`/ip4/10.${i}.0.2/tcp/9171`], relays: [relayAddr], holePunch: { enabled: false } })
  const [a, b] = await Promise.all([home(ha!, 'a', 2), home(hb!, 'b', 3)])
  try {
    await a.call('join', { uri: await relay.call<string>('invite') })
    await eventually(async () => (await a.call<RelayStatus[]>('relays'))[0]?.reserved === true, 'A holds a slot on the relay', 20_000)
    await b.call('join', { uri: await a.call<string>('invite') })

    const r = await eventually(async () => {
      const rep = await a.call<DoctorReport>('doctor')
      const d = rep.devices.find((x) => x.peerID === b.deviceID)
      return d?.connected === true && d.rttMs !== null ? { rep, d } : undefined
    }, 'B connected to A with an rtt', 30_000)
    t.diagnostic(`A → B: ${r.d.pathText}, ping ${r.d.rttMs} ms; known by ${r.d.knownBy.join(', ')}`)
    assert.equal(r.d.path, 'relayed')
    assert.ok(r.d.knownBy.includes('relay'), r.d.knownBy.join())
    assert.deepEqual(r.d.suggestions.map((s) => s.code), ['RELAYED_ONLY'])
    const self = r.rep.self
    t.diagnostic(`A: ${self.reachability}: ${self.reachabilityText}`)
    assert.equal(self.reachability, 'behind-nat')
    assert.ok(self.observed.some((o) => o.address.startsWith('/ip4/11.0.2.2/') && o.by === relay.deviceID), JSON.stringify(self.observed))
    assert.match(self.reachabilityText, /peers see it at 11\.0\.2\.2,.*through the relay/)
    assert.ok(!self.observed.some((o) => o.address.includes('/p2p-circuit')), 'circuit addresses are not observations')
    assert.deepEqual(self.relays.map((x) => x.reserved), [true])
    assert.deepEqual(r.rep.suggestions, [])

    await relay.call('stop').catch(() => {})
    const down = await eventually(async () => {
      const rep = await a.call<DoctorReport>('doctor')
      return rep.suggestions.some((s) => s.code === 'RELAY_DOWN') ? rep : undefined
    }, 'RELAY_DOWN on A', 30_000)
    t.diagnostic(`relay gone: ${down.suggestions.find((s) => s.code === 'RELAY_DOWN')!.text}`)
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- a\n${a.stderrTail(20)}\n--- b\n${b.stderrTail(20)}`)
  }
  t.diagnostic(`relay doctor test ${Date.now() - t0} ms`)
})
