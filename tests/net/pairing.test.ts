import { test } from 'node:test'
import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { isTandemError } from '../../shared/errors.ts'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import { eventually, startNode } from '../helpers/nodes.ts'
import { tempDir } from '../helpers/tmp.ts'
import { fails } from '../helpers/errors.ts'

const NOTES = 'type Notes { title: String! }'

test('a device joins by invite; both record each other, share the secret and sync', async (t) => {
  const a = await startNode(t, { deviceName: 'laptop' })
  const b = await startNode(t, { deviceName: 'phone' })
  for (const n of [a, b]) await n.db.addCollections(NOTES)
  const { uri, expiresAt } = a.invite()
  assert.ok(expiresAt > Date.now() + 9 * 60_000, 'valid for 10 minutes by default')
  assert.doesNotMatch(uri, /secret/)
  const inviter = await b.join(uri)
  assert.equal(inviter.deviceID, a.deviceID)
  assert.equal(inviter.name, 'laptop')
  await eventually(() => a.group.get(b.deviceID)?.name === 'phone', 'A recorded B')
  assert.deepEqual(Buffer.from(b.group.secret.bytes), Buffer.from(a.group.secret.bytes))
  const id = await a.db.createDocument('Notes', { title: 'hello from the laptop' })
  await eventually(() => b.db.getDocument('Notes', id).catch(() => undefined), 'B syncs A\'s document')
  assert.deepEqual(a.pairing!.listInvites(), [], 'the invite is used up')
})

test('the inviter introduces a new device to the others, and they sync with it', async (t) => {
  const [a, b, c] = [await startNode(t), await startNode(t), await startNode(t)]
  for (const n of [a, b, c]) await n.db.addCollections(NOTES)
  await b.join(a.invite().uri)
  await c.join(a.invite().uri)
  await eventually(() => b.group.has(c.deviceID) && c.group.has(b.deviceID), 'B and C know each other')
  await eventually(() => b.connectedDevices().includes(c.deviceID), 'B and C connected')
  const id = await c.db.createDocument('Notes', { title: 'from C' })
  await eventually(() => b.db.getDocument('Notes', id).catch(() => undefined), 'B has C\'s document')
})

test('wrong, expired, reused and cancelled invites, an unreachable inviter and an existing device are refused; nothing is recorded', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  const good = a.invite()
  const wrong = good.uri.replace(/code=([a-z2-7])/, (_m, c: string) => `code=${c === 'a' ? 'b' : 'a'}`)
  await assert.rejects(b.join(wrong), fails('INVITE_WRONG_CODE', /code .* is wrong/))
  const short = a.invite({ ttlMinutes: 0.002 })
  await new Promise((r) => setTimeout(r, 200))
  await assert.rejects(b.join(short.uri), fails('INVITE_EXPIRED', /expired/))
  const cancelled = a.invite()
  a.pairing!.cancelInvite(cancelled.id)
  await assert.rejects(b.join(cancelled.uri), fails('INVITE_UNKNOWN', /does not know this invite/))
  const gone = await startNode(t)
  const dead = gone.invite().uri
  await gone.stop()
  await assert.rejects(b.join(dead), fails('UNREACHABLE', /Could not reach/))
  assert.equal(a.group.list().length, 0)
  assert.equal(b.group.list().length, 0)

  await b.join(good.uri)
  await assert.rejects(b.join(good.uri), fails('ALREADY_PAIRED'))
  const c = await startNode(t)
  await assert.rejects(c.join(good.uri), fails('INVITE_USED', /already used/))
  assert.equal(c.group.list().length, 0)
  assert.throws(() => a.invite({ ttlMinutes: -1 }), fails('INVALID_INPUT'))
})

test('five wrong codes burn an invite', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  const { uri } = a.invite()
  const wrong = uri.replace(/code=[a-z2-7]+/, 'code=aaaaaaaaaaaaaaaaaaaaaaaaaa')
  for (let i = 0; i < 5; i++) await assert.rejects(b.join(wrong), fails('INVITE_WRONG_CODE'))
  await assert.rejects(b.join(uri), fails('INVITE_UNKNOWN'))
})

test('a removed device is told, leaves, and the others forget it and renew the secret', async (t) => {
  // Right after the rekey the gossip mesh on the new topics may not have formed yet; the nudge that
  // covers it can lose a race on a loaded machine, and then anti-entropy repairs it: a short period
  // keeps that within the test's wait (it is what "A and C still sync" means to their person).
  const opts = { antiEntropyMs: 2_000 }
  const [a, b, c] = [await startNode(t, opts), await startNode(t, opts), await startNode(t, opts)]
  for (const n of [a, b, c]) await n.db.addCollections(NOTES)
  await b.join(a.invite().uri)
  await c.join(a.invite().uri)
  await eventually(() => b.group.has(c.deviceID) && c.group.has(b.deviceID) && c.connectedDevices().includes(b.deviceID), 'one group of three')
  const oldSecret = Buffer.from(a.group.secret.bytes)
  // Told even when A and B are not connected the moment A removes it (a connection dropped and
  // not yet redialled): A dials it to tell it.
  await a.host!.hangUp(peerIdFromString(b.deviceID))
  await a.removeDevice(b.deviceID)
  assert.equal(a.group.has(b.deviceID), false)
  await eventually(() => b.group.list().length === 0, 'B left the group')
  assert.notDeepEqual(Buffer.from(b.group.secret.bytes), oldSecret)
  await eventually(() => !c.group.has(b.deviceID), 'C learned of the removal')
  await eventually(() => Buffer.compare(c.group.secret.bytes, a.group.secret.bytes) === 0, 'C has the new secret')
  assert.notDeepEqual(Buffer.from(a.group.secret.bytes), oldSecret)
  // A and C still sync; B gets nothing of it.
  const id = await a.db.createDocument('Notes', { title: 'after B left' })
  await eventually(() => c.db.getDocument('Notes', id).catch(() => undefined), 'C still syncs with A')
  await new Promise((r) => setTimeout(r, 300))
  await assert.rejects(b.db.getDocument('Notes', id), /no document/)
})

test('a device removed while it was offline is told when it comes back, and leaves', async (t) => {
  const a = await startNode(t)
  const bDir = await tempDir(t)
  const b = await startNode(t, { dataDir: bDir })
  await b.join(a.invite().uri)
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'A and B connected')
  await b.stop()
  await eventually(() => !a.connectedDevices().includes(b.deviceID), 'B offline')
  await a.removeDevice(b.deviceID) // B cannot be told now
  const back = await startNode(t, { dataDir: bDir })
  assert.equal(back.group.has(a.deviceID), true, 'B still counts itself in A\'s group')
  // B redials A at start; A tells it, and it leaves.
  await eventually(() => back.group.list().length === 0, 'B told on its return, and left')
  await eventually(() => !a.connectedDevices().includes(back.deviceID) && !back.connectedDevices().includes(a.deviceID), 'and the connection is closed')
})

const members = (n: TandemNode): string[] => n.group.list().map((d) => `${d.deviceID}:${d.removedAt ?? 'member'}`)

test('joining an invite from a device that has a group already is refused, changing nothing on any device, unless the merge is confirmed', async (t) => {
  const a = await startNode(t, { deviceName: 'laptop' })
  const b = await startNode(t, { deviceName: 'desk' })
  const c = await startNode(t, { deviceName: 'stranger-phone' })
  await b.join(a.invite().uri)
  await eventually(() => a.group.has(b.deviceID), 'A and B are one group')
  const before = [a, b, c].map((n) => ({ members: members(n), secret: Buffer.from(n.group.secret.bytes).toString('hex'), epoch: n.group.epoch }))
  const invite = c.invite()

  await assert.rejects(b.join(invite.uri), (err: unknown) => {
    assert.ok(isTandemError(err), String(err))
    assert.equal(err.code, 'MERGE_NOT_CONFIRMED', err.message)
    assert.match(err.message, /laptop/, 'names the devices this device has')
    assert.match(err.message, /stranger-phone/, 'names the inviter')
    assert.deepEqual(err.details.devices, [{ peerID: a.deviceID, name: 'laptop' }])
    assert.deepEqual(err.details.inviter, { peerID: c.deviceID, name: 'stranger-phone' })
    return true
  })
  await new Promise((r) => setTimeout(r, 300))
  const after = [a, b, c].map((n) => ({ members: members(n), secret: Buffer.from(n.group.secret.bytes).toString('hex'), epoch: n.group.epoch }))
  assert.deepEqual(after, before, 'no device\'s group changed')
  assert.deepEqual(c.pairing!.listInvites().map((i) => i.id), [invite.id], 'the invite is still usable')

  // Confirmed: the two groups become one.
  const inviter = await b.join(invite.uri, { mergeGroups: true })
  assert.equal(inviter.deviceID, c.deviceID)
  await eventually(() => [a, b, c].every((n) => [a, b, c].every((m) => m === n || n.group.has(m.deviceID))), 'A, B and C are one group', 20_000)
})

test('two devices racing with one invite: exactly one joins, the other is told it was used', async (t) => {
  const a = await startNode(t)
  // Three rounds, each with a new invite: the loser of a round races again against a new device.
  let loser = await startNode(t)
  for (let round = 0; round < 3; round++) {
    const rivals = [loser, await startNode(t)]
    // Both already connected to the inviter, so that their hellos (and proofs) arrive together.
    for (const n of rivals) await n.dial(a.addresses()[0]!)
    const { uri } = a.invite()
    const results = await Promise.allSettled(rivals.map((n) => n.join(uri)))
    const joined = results.filter((r) => r.status === 'fulfilled')
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    assert.equal(joined.length, 1, `round ${round}: one joins, not ${joined.length} ${refused.map((r) => String(r.reason)).join('; ')}`)
    assert.ok(isTandemError(refused[0]!.reason, 'INVITE_USED'), String(refused[0]!.reason))
    const winner = rivals[results.findIndex((r) => r.status === 'fulfilled')]!
    loser = rivals.find((n) => n !== winner)!
    assert.ok(a.group.has(winner.deviceID), 'the inviter recorded the winner')
    assert.equal(a.group.has(loser.deviceID), false, 'and not the loser')
    assert.deepEqual(winner.group.list().map((d) => d.deviceID).includes(a.deviceID), true)
    assert.deepEqual(loser.group.list(), [], 'the loser joined nothing')
    assert.notDeepEqual(Buffer.from(loser.group.secret.bytes), Buffer.from(a.group.secret.bytes))
  }
  assert.equal(a.group.list().length, 3, 'three invites, three devices')
})
