/**
 * A LAN in network namespaces: two devices on one veth link find each other by mDNS, become one
 * group with the addresses they discovered, and a document made on one appears on the other.
 * Needs root (fails otherwise); all traffic stays inside the namespaces this test creates.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ip, listNamespaces, Topology } from '../helpers/netns.ts'
import { NsNode } from '../helpers/ns-client.ts'
import type { NodeEvent } from '../helpers/ns-node.ts'
import { eventually } from '../helpers/nodes.ts'

const BOOKS = 'type Books { title: String! pages: Int read: Boolean }'
// @libp2p/mdns queries at start and then every 10 s; the first node up finds the second at its next query.
const DISCOVERY_MS = 15_000

type Discovered = Extract<NodeEvent, { event: 'discovered' }>

test('two devices on a LAN find each other by mDNS and sync a document', { timeout: 90_000 }, async (t) => {
  const topo = await Topology.create(t)
  const nsA = await topo.addNamespace('a')
  const nsB = await topo.addNamespace('b')
  const link = await topo.link(nsA, nsB)
  // The veths live only in the test namespaces, never in the root one.
  assert.doesNotMatch(await ip('-o', 'link', 'show'), new RegExp(`\\b(${link.devA}|${link.devB})@`))

  const [a, b] = await Promise.all([
    NsNode.spawn(t, topo, nsA, { listen: [`/ip4/${link.addrA}/tcp/0`], mdns: true }),
    NsNode.spawn(t, topo, nsB, { listen: [`/ip4/${link.addrB}/tcp/0`], mdns: true }),
  ])
  // Discovery can only happen once both have begun: times count from the later start.
  const laterStart = Math.max(a.ready.startedAt, b.ready.startedAt)
  const bothUp = Math.max(a.ready.readyAt, b.ready.readyAt)
  t.diagnostic(`A ${a.deviceID} at ${a.ready.addrs.join(' ')}; B ${b.deviceID} at ${b.ready.addrs.join(' ')}`)
  t.diagnostic(`startup: A ${a.ready.readyAt - a.ready.startedAt} ms, B ${b.ready.readyAt - b.ready.startedAt} ms`)

  const found = (by: NsNode, peer: NsNode): Promise<Discovered> => by.waitForEvent(
    (e): e is Discovered => e.event === 'discovered' && e.peer === peer.deviceID, DISCOVERY_MS, `${by.ns} to discover ${peer.deviceID}`)
  const [aFoundB, bFoundA] = await Promise.all([found(a, b), found(b, a)])
  for (const [who, ev] of [['A found B', aFoundB], ['B found A', bFoundA]] as const) {
    t.diagnostic(`${who} by mDNS ${ev.at - laterStart} ms after the later node began starting (${ev.at - bothUp} ms after both were up)` +
      `${ev.beforeReady === true ? ', seen in the peer store at ready' : ''}; addrs ${ev.addrs.join(' ')}`)
  }
  assert.ok(aFoundB.addrs.some((x) => x.startsWith(`/ip4/${link.addrB}/tcp/`)), `A got B's LAN address: ${aFoundB.addrs.join(' ')}`)
  assert.ok(bFoundA.addrs.some((x) => x.startsWith(`/ip4/${link.addrA}/tcp/`)), `B got A's LAN address: ${bFoundA.addrs.join(' ')}`)

  // One group, with the addresses mDNS gave.
  await b.call('setSecret', { secret: await a.call('groupSecret') })
  await a.call('addCollections', { sdl: BOOKS })
  await b.call('addCollections', { sdl: BOOKS })
  await a.call('groupAdd', { deviceID: b.deviceID, name: 'b', addrs: aFoundB.addrs })
  await b.call('groupAdd', { deviceID: a.deviceID, name: 'a', addrs: bFoundA.addrs })
  await eventually(async () => (await a.call('connected')).devices.includes(b.deviceID), 'A and B connected')

  const id = await a.call('createDocument', { collection: 'Books', fields: { title: 'Dune', pages: 412 } })
  const doc = await eventually(() => b.call('getDocument', { collection: 'Books', id }).catch(() => undefined), 'the document on B')
  assert.equal(doc.fields.title, 'Dune')
  assert.equal(doc.fields.pages, 412)
  assert.equal((await b.call('listDocuments', { collection: 'Books' })).total, 1)

  // Teardown (also run by t.after on failure) leaves none of this run's namespaces.
  await topo.destroy()
  const left = (await listNamespaces()).filter((n) => n.startsWith(topo.id))
  assert.deepEqual(left, [], `namespaces left behind: ${left.join(', ')}`)
  assert.equal(a.pid !== undefined && isAlive(a.pid), false, 'node A stopped')
  assert.equal(b.pid !== undefined && isAlive(b.pid), false, 'node B stopped')
})

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
