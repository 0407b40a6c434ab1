/**
 * Group sync on its own: two GroupSyncs over in-memory libp2p streams (tests/helpers/memory-host.ts)
 * and in-memory groups (tests/helpers/memory-group.ts) — no TCP, no LevelDB. The real-node tests
 * (group, group-hostile-nodes, former-member) stay for the whole path.
 */
import { test } from 'node:test'
import { z } from 'zod'
import assert from 'node:assert/strict'
import { GroupSync } from '../../main/net/group-sync/group-sync.ts'
import { MAX_INBOUND_STREAMS, PROTOCOL } from '../../main/net/group-sync/constants.ts'
import { isTandemError } from '../../shared/errors.ts'
import { Channel } from '../../main/net/wire.ts'
import { MemoryNetwork, type MemoryHost } from '../helpers/memory-host.ts'
import { MemoryGroup } from '../helpers/memory-group.ts'

interface Side { sync: GroupSync; group: MemoryGroup; host: MemoryHost; exchanged: string[] }

/** Two devices; unless `strangers`, each has the other in its group. */
async function setup(options: { strangers?: boolean } = {}): Promise<{ a: Side; b: Side }> {
  const net = new MemoryNetwork()
  const side = async (name: string): Promise<Side> => {
    const host = await net.host()
    const group = new MemoryGroup(host.peerId.toString(), name)
    const exchanged: string[] = []
    const sync = new GroupSync({ host, group }, { selfAddrs: () => [`${host.address}/p2p/${host.peerId}`], onExchange: (peer) => exchanged.push(peer) })
    await sync.start()
    return { sync, group, host, exchanged }
  }
  const [a, b] = [await side('laptop'), await side('phone')]
  if (options.strangers !== true) {
    await a.group.add({ deviceID: b.host.peerId.toString(), name: 'phone' })
    await b.group.add({ deviceID: a.host.peerId.toString(), name: 'laptop' })
  }
  return { a, b }
}

test('two devices exchange group states and both merge; the answering one hears of it', async () => {
  const { a, b } = await setup()
  assert.deepEqual(b.host.handlers.get(PROTOCOL)!.options, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
  const tablet = 'tablet-device-id'
  await b.group.add({ deviceID: tablet, name: 'tablet' })
  await b.group.setSecret(new Uint8Array(32).fill(7), 3)

  await a.sync.exchange(b.host.peerId)
  const [fromB, fromA] = [a.group.merged, b.group.merged]
  assert.equal(fromB.length, 1)
  assert.equal(fromB[0]!.from, b.host.peerId.toString(), 'what B said counts as B\'s')
  assert.equal(fromA.length, 1)
  assert.equal(fromA[0]!.from, a.host.peerId.toString())
  assert.deepEqual(fromA[0]!.state.devices[0]!.addrs, [`${a.host.address}/p2p/${a.host.peerId}`], 'A tells its own addresses')
  assert.equal(a.group.get(tablet)?.via, 'introducer', 'A learned of the tablet from B')
  assert.equal(a.group.epoch, 3)
  assert.deepEqual(b.exchanged, [a.host.peerId.toString()])
  assert.deepEqual(a.exchanged, [], 'only the answering side is told')
})

test('a peer outside the group is refused with UNAUTHORIZED, and nothing it says is merged', async () => {
  const { a, b } = await setup({ strangers: true })
  await assert.rejects(a.sync.exchange(b.host.peerId), (err) => {
    assert.ok(isTandemError(err, 'UNAUTHORIZED'))
    assert.equal(err.message, 'peer answered: refused: not a device of this group')
    assert.equal(err.details.remote, true)
    return true
  })
  assert.deepEqual(b.group.merged, [])
  assert.deepEqual(a.group.merged, [])
  // Nor can a stranger make it leave.
  await a.sync.tellRemoved(b.host.peerId)
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(b.group.left, 0)
})

test('a device told it was removed, by a member, closes the stream and then leaves', async () => {
  const { a, b } = await setup()
  let writeStatus = ''
  const leave = b.group.leave.bind(b.group)
  b.group.leave = () => { writeStatus = b.host.served.get(PROTOCOL)!.at(-1)!.writeStatus; return leave() }
  await a.sync.tellRemoved(b.host.peerId)
  for (let i = 0; i < 100 && b.group.left === 0; i++) await new Promise((r) => setTimeout(r, 5))
  assert.equal(b.group.left, 1)
  assert.equal(writeStatus, 'closed', 'closed before it left')
  assert.deepEqual(b.exchanged, [], 'a removal is no exchange')
})

test("the answering side's own failure reaches the asker as a coded error, not a reset", async () => {
  const { a, b } = await setup()
  b.group.failWith = new Error('IO error: simulated write failure')
  await assert.rejects(a.sync.exchange(b.host.peerId), (err) => {
    assert.ok(isTandemError(err, 'INTERNAL'))
    assert.equal(err.message, 'peer answered: IO error: simulated write failure')
    assert.equal(err.details.remote, true)
    return true
  })
  assert.deepEqual(a.group.merged, [], 'the asker merged nothing')
})

test('an asker that left the group meanwhile does not take the answer', async () => {
  const { a, b } = await setup()
  // A forgets B while B answers: what B says no longer counts on A.
  const state = b.group.state.bind(b.group)
  b.group.state = (addrs) => { a.group.devices.clear(); return state(addrs) }
  await assert.rejects(a.sync.exchange(b.host.peerId), /no longer a device of this group/)
  assert.deepEqual(a.group.merged, [])
})

test('after stop the protocol is no longer offered', async () => {
  const { a, b } = await setup()
  await b.sync.stop()
  assert.equal(b.host.handlers.has(PROTOCOL), false)
  await assert.rejects(a.sync.exchange(b.host.peerId), (err) => isTandemError(err, 'UNREACHABLE'))
  await assert.rejects(a.sync.tellRemoved(b.host.peerId), (err) => isTandemError(err, 'UNREACHABLE'))
})

test('the answering side is asked to pull only when the asker says so, or when the exchange brought a new secret', async () => {
  const { a, b } = await setup()
  await a.sync.exchange(b.host.peerId, { pull: false })
  assert.deepEqual(b.exchanged, [], 'a connect or a new member: no pull asked')
  await a.sync.exchange(b.host.peerId)
  assert.deepEqual(b.exchanged, [a.host.peerId.toString()], 'a nudge asks one (the default)')
  // A's secret is newer: B takes it, and pulls although A did not ask (what A published under the
  // new secret's topics may not have reached B).
  await a.group.setSecret(new Uint8Array(32).fill(9), 5)
  await a.sync.exchange(b.host.peerId, { pull: false })
  assert.equal(b.group.epoch, 5)
  assert.deepEqual(b.exchanged, [a.host.peerId.toString(), a.host.peerId.toString()])
})

test('a device of an earlier version, whose state says nothing of pulling, is answered with a pull as before', async () => {
  const { a, b } = await setup()
  const ch = new Channel(await a.host.dialProtocol(b.host.peerId, PROTOCOL), { maxMessageBytes: 1 << 20 })
  await ch.send({ t: 'state', ...a.group.state([]) })
  await ch.recv(z.object({ t: z.literal('state') }))
  await ch.close()
  await new Promise((resolve) => setTimeout(resolve, 20))
  assert.deepEqual(b.exchanged, [a.host.peerId.toString()])
})
