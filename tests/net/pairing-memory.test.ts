/**
 * Pairing on its own: Pairings over in-memory libp2p streams (tests/helpers/memory-host.ts) and
 * in-memory groups (tests/helpers/memory-group.ts) — no TCP, no LevelDB. The real-node tests
 * (pairing, preauth-caps, tests/fuzz) stay for the whole path.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { Pairing } from '../../main/net/pairing/pairing.ts'
import { MAX_INBOUND_STREAMS, PROTOCOL } from '../../main/net/pairing/constants.ts'
import { Channel, MAX_PREAUTH_MESSAGE_BYTES } from '../../main/net/wire.ts'
import type { DeviceRecord } from '../../main/net/group.ts'
import { isTandemError } from '../../shared/errors.ts'
import { MemoryNetwork, type MemoryHost } from '../helpers/memory-host.ts'
import { MemoryGroup } from '../helpers/memory-group.ts'
import { frame, varint } from '../fuzz/wire-client.ts'
import { fails } from '../helpers/errors.ts'

interface Device { pairing: Pairing; group: MemoryGroup; host: MemoryHost }

async function devices<const N extends readonly string[]>(net: MemoryNetwork, ...names: N): Promise<{ [K in keyof N]: Device }> {
  return Promise.all(names.map(async (name) => {
    const host = await net.host()
    const group = new MemoryGroup(host.peerId.toString(), name)
    const pairing = new Pairing({ host, group }, { selfAddrs: () => [host.address] })
    await pairing.start()
    return { pairing, group, host }
  })) as Promise<{ [K in keyof N]: Device }>
}

/** What the inviter answers a hand-written hello naming `invite`. */
async function helloAnswer(from: MemoryHost, to: MemoryHost, invite: string): Promise<unknown> {
  const ch = new Channel(await from.dialProtocol(to.peerId, PROTOCOL), { maxMessageBytes: 4096, signal: AbortSignal.timeout(5000) })
  await ch.send({ t: 'hello', v: 1, invite, name: 'stranger', nonce: randomBytes(16) })
  return ch.recv(z.unknown())
}

test('a stranger joins by invite: it takes the group, and the inviter records it where it came from', async () => {
  const net = new MemoryNetwork()
  const [a, b] = await devices(net, 'laptop', 'phone')
  assert.deepEqual(a.host.handlers.get(PROTOCOL)!.options, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
  await a.group.setSecret(new Uint8Array(32).fill(9), 4)
  await a.group.add({ deviceID: 'tablet-device-id', name: 'tablet' })
  const paired = once(a.pairing, 'paired') as Promise<[DeviceRecord]>
  const { uri } = a.pairing.createInvite()

  const inviter = await b.pairing.join(uri)
  assert.equal(inviter.deviceID, a.host.peerId.toString())
  assert.equal(inviter.name, 'laptop')
  const [record] = await paired
  assert.deepEqual([record.deviceID, record.name, record.addrs], [b.host.peerId.toString(), 'phone', [b.host.address]])
  assert.deepEqual(Buffer.from(b.group.secret), Buffer.alloc(32, 9))
  assert.equal(b.group.epoch, 4)
  assert.ok(b.group.has('tablet-device-id'), 'the joiner learned the inviter\'s other devices')
  assert.deepEqual(a.pairing.listInvites(), [], 'the invite is used up')
})

test('unknown, wrong, used and expired invites are refused with the error frame, and the joiner reads its code', async () => {
  const net = new MemoryNetwork()
  const [a, b, c] = await devices(net, 'laptop', 'phone', 'tablet')
  // The refusal on the wire: the one error frame, with the invite's code.
  assert.deepEqual(await helloAnswer(b.host, a.host, 'nosuchinvite'), {
    t: 'error', code: 'INVITE_UNKNOWN', ok: false,
    error: 'The other device does not know this invite (cancelled, or it restarted since). Ask for a new one.',
  })

  const good = a.pairing.createInvite()
  const wrong = good.uri.replace(/code=([a-z2-7])/, (_m, ch: string) => `code=${ch === 'a' ? 'b' : 'a'}`)
  await assert.rejects(b.pairing.join(wrong), fails('INVITE_WRONG_CODE', /code .* is wrong/))
  await b.pairing.join(good.uri)
  await assert.rejects(c.pairing.join(good.uri), fails('INVITE_USED', /already used/))
  const short = a.pairing.createInvite({ ttlMinutes: 0.001 })
  await new Promise((r) => setTimeout(r, 100))
  await assert.rejects(c.pairing.join(short.uri), fails('INVITE_EXPIRED', /expired/))
  const cancelled = a.pairing.createInvite()
  a.pairing.cancelInvite(cancelled.id)
  await assert.rejects(c.pairing.join(cancelled.uri), fails('INVITE_UNKNOWN', /does not know this invite/))
  assert.deepEqual(c.group.list(), [], 'the refused device joined nothing')
  assert.deepEqual(a.group.list().map((d) => d.name), ['phone'])
})

test('two devices proving one invite at once: exactly one joins, the other is told it was used', async () => {
  const net = new MemoryNetwork()
  const [a, b, c] = await devices(net, 'laptop', 'phone', 'tablet')
  const { uri } = a.pairing.createInvite()
  const results = await Promise.allSettled([b.pairing.join(uri), c.pairing.join(uri)])
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
  const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!
  assert.ok(isTandemError(refused.reason, 'INVITE_USED'), String(refused.reason))
  assert.equal(a.group.list().length, 1)
})

test('a stranger\'s first message over the pre-authentication cap is cut off; a welcome over it still arrives', async () => {
  const net = new MemoryNetwork()
  const [a, b] = await devices(net, 'laptop', 'phone')
  const stream = await b.host.dialProtocol(a.host.peerId, PROTOCOL)
  const over = MAX_PREAUTH_MESSAGE_BYTES + 1024
  stream.send(varint(over))
  stream.send(new Uint8Array(over / 10))
  for (let i = 0; i < 200 && stream.status === 'open'; i++) await new Promise((r) => setTimeout(r, 5))
  assert.notEqual(stream.status, 'open', 'the oversized hello ended the stream')

  // A group whose state is well over the cap: the joiner reads it after the challenge.
  for (let i = 0; i < 40; i++) await a.group.add({ deviceID: `device-${i}`, name: `device number ${i} `.padEnd(60, 'x'), addrs: [1, 2, 3, 4].map((p) => `/ip4/192.168.1.${i}/tcp/${9170 + p}`) })
  assert.ok(frame(a.group.state([a.host.address])).length > 2 * MAX_PREAUTH_MESSAGE_BYTES)
  await b.pairing.join(a.pairing.createInvite().uri)
  assert.equal(b.group.list().length, 41)
})

test('the inviter\'s own failure reaches the joiner as an error, and nothing is taken', async () => {
  const net = new MemoryNetwork()
  const [a, b] = await devices(net, 'laptop', 'phone')
  a.group.failWith = new Error('IO error: simulated write failure')
  await assert.rejects(b.pairing.join(a.pairing.createInvite().uri), fails('INVITE_MALFORMED', /simulated write failure/))
  assert.deepEqual(b.group.list(), [])
})

test('an inviter\'s welcome with a secret of the wrong length is a malformed answer, and nothing is taken', async () => {
  const net = new MemoryNetwork()
  const [a, b] = await devices(net, 'laptop', 'phone')
  await a.group.setSecret(new Uint8Array(16).fill(9), 4)
  await assert.rejects(b.pairing.join(a.pairing.createInvite().uri), fails('INVITE_MALFORMED', /32-byte secret/))
  assert.deepEqual(b.group.list(), [])
})

test('a device with a group of its own joins only with mergeGroups, and nothing is sent before', async () => {
  const net = new MemoryNetwork()
  const [a, b] = await devices(net, 'laptop', 'phone')
  await b.group.add({ deviceID: 'watch-device-id', name: 'watch' })
  const { uri } = a.pairing.createInvite()
  await assert.rejects(b.pairing.join(uri), fails('MERGE_NOT_CONFIRMED'))
  assert.equal(a.host.served.get(PROTOCOL), undefined, 'no stream was opened')
  await b.pairing.join(uri, { mergeGroups: true })
  assert.ok(b.group.has(a.host.peerId.toString()) && b.group.has('watch-device-id'))
})

test('an inviter that cannot be reached, and one that stopped, are UNREACHABLE', async () => {
  const net = new MemoryNetwork()
  const [a, b] = await devices(net, 'laptop', 'phone')
  const { uri } = a.pairing.createInvite()
  await assert.rejects(b.pairing.join(uri.replace(/addr=[^&]+/, `addr=${encodeURIComponent('/ip4/127.0.0.1/tcp/1')}`)), fails('UNREACHABLE', /Could not reach/))
  await a.pairing.stop()
  assert.equal(a.host.handlers.has(PROTOCOL), false)
  await assert.rejects(b.pairing.join(uri), fails('UNREACHABLE'))
})
