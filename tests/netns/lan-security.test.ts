/**
 * Security on a LAN in network namespaces (three devices on one bridge): a stranger finds the
 * group's devices by mDNS but is never accepted — its pairing request is refused while Pair nearby is
 * closed, and once open, a guessed code pairs nothing and a decline ends it; its invite codes
 * are wrong, expired or reused, the protocols refuse it, and it learns no document; a removed device
 * is refused from then on and gets nothing new. Needs root; traffic stays in these namespaces.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bridgeLan, Topology } from '../helpers/netns.ts'
import { NsNode } from '../helpers/ns-client.ts'
import type { NodeEvent } from '../helpers/ns-node.ts'
import { eventually } from '../helpers/nodes.ts'

const NOTES = 'type Notes { title: String! }'
const SECRET_TEXT = 'the launch code is 0000'
type Req = Extract<NodeEvent, { event: 'pairing:request' }>
type Res = Extract<NodeEvent, { event: 'pairing:resolved' }>

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: Error & { code?: string }) => { assert.equal(err.code, code, err.message); return true })
}

test('LAN security: a stranger and a removed device are refused and learn nothing', { timeout: 150_000 }, async (t) => {
  const topo = await Topology.create(t)
  const [nsA, nsB, nsS] = [await topo.addNamespace('a'), await topo.addNamespace('b'), await topo.addNamespace('s')]
  const [ipA, ipB, ipS] = await bridgeLan(topo, [nsA, nsB, nsS])
  const [a, b, s] = await Promise.all([
    NsNode.spawn(t, topo, nsA, { listen: [`/ip4/${ipA}/tcp/0`], mdns: true, name: 'laptop' }),
    NsNode.spawn(t, topo, nsB, { listen: [`/ip4/${ipB}/tcp/0`], mdns: true, name: 'phone' }),
    NsNode.spawn(t, topo, nsS, { listen: [`/ip4/${ipS}/tcp/0`], mdns: true, name: 'laptop' }), // a look-alike name
  ])
  for (const n of [a, b, s]) await n.call('addCollections', { sdl: NOTES })
  // A and B become a group by invite.
  await eventually(async () => (await b.call('nearbyDevices')).some((d) => d.peerID === a.deviceID), 'B finds A')
  await b.call('join', { uri: (await a.call('invite', {})).uri })
  await eventually(async () => (await a.call('connected')).devices.includes(b.deviceID), 'A and B connected')

  // The stranger sees A by mDNS (and A sees it), but that is all.
  await eventually(async () => (await s.call('nearbyDevices')).some((d) => d.peerID === a.deviceID), 'the stranger finds A by mDNS', 20_000)
  await eventually(async () => (await a.call('nearbyDevices')).some((d) => d.peerID === s.deviceID && d.name === 'laptop'), 'A lists the stranger', 20_000)

  // Its pairing request is refused while A has not opened Pair nearby; once it has, the person
  // (who cannot see the stranger's screen) types a code that pairs nothing, then declines.
  await rejectsWith(s.call('requestPairing', { peerID: a.deviceID }), 'PAIRING_CLOSED')
  await a.call('openPairing')
  const { id, code } = await s.call('requestPairing', { peerID: a.deviceID })
  const req = await a.waitForEvent((e): e is Req => e.event === 'pairing:request' && e.id === id, 10_000, 'the stranger\'s request on A')
  assert.equal(req.claimedName, 'laptop', 'a look-alike name, shown as the stranger claims it')
  await rejectsWith(a.call('acceptPairing', { id, code: code === '123456' ? '654321' : '123456' }), 'PAIRING_WRONG_CODE')
  await a.call('declinePairing', { id })
  const res = await s.waitForEvent((e): e is Res => e.event === 'pairing:resolved' && e.id === id, 10_000, 'declined on the stranger')
  assert.equal(res.outcome, 'declined')

  // Wrong, expired and reused invite codes.
  const good = await a.call('invite', {})
  const wrong = good.uri.replace(/code=([a-z2-7])/, (_m, c: string) => `code=${c === 'a' ? 'b' : 'a'}`)
  await rejectsWith(s.call('join', { uri: wrong }), 'INVITE_WRONG_CODE')
  const short = await a.call('invite', { ttlMinutes: 0.002 })
  await new Promise((r) => setTimeout(r, 300))
  await rejectsWith(s.call('join', { uri: short.uri }), 'INVITE_EXPIRED')
  const used = (await b.call('invite', {})).uri
  await eventually(async () => (await b.call('groupDevices')).includes(a.deviceID), 'B in the group')
  const c = await NsNode.spawn(t, topo, nsS, { listen: [`/ip4/${ipS}/tcp/0`] }) // a second device in the stranger's network, used up B's invite
  await c.call('join', { uri: used })
  await rejectsWith(s.call('join', { uri: used }), 'INVITE_USED')
  await c.call('stop')

  // The protocols refuse it, and no document reaches it.
  const doc = await a.call('createDocument', { collection: 'Notes', fields: { title: SECRET_TEXT } })
  await eventually(() => b.call('getDocument', { collection: 'Notes', id: doc }).catch(() => undefined), 'B has the document')
  assert.match(await s.call('probeHeads', { peerID: a.deviceID }), /^refused: .*not a device of this group/)
  assert.equal((await s.call('listDocuments', { collection: 'Notes' })).total, 0, 'the stranger holds no document')
  assert.deepEqual(await s.call('groupDevices'), [])
  assert.notEqual(await s.call('groupSecret'), await a.call('groupSecret'))

  // A removed device: told, forgotten, refused, and it gets nothing new.
  await a.call('removeDevice', { deviceID: b.deviceID })
  await eventually(async () => (await b.call('groupDevices')).length === 0, 'B left the group')
  const after = await a.call('createDocument', { collection: 'Notes', fields: { title: 'after B left' } })
  assert.match(await b.call('probeHeads', { peerID: a.deviceID }), /^refused: /)
  await new Promise((r) => setTimeout(r, 1000))
  await assert.rejects(b.call('getDocument', { collection: 'Notes', id: after }))
  assert.notEqual(await b.call('groupSecret'), await a.call('groupSecret'))
})
