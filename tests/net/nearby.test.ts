/**
 * Nearby pairing over loopback (mDNS off: the peers are dialed by address instead of discovered):
 * "Pair nearby" open on the device asked, the code shown by the requester and typed on the other
 * device, who hands over the group, wrong codes, declines, expiry, and every bad input.
 * tests/net/nearby-wire.test.ts covers malformed messages, strangers and floods.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { isTandemError, type ErrorCode } from '../../shared/errors.ts'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import type { PairingRequest } from '../../main/net/nearby/nearby.ts'
import { eventually, startNode } from '../helpers/nodes.ts'

const NOTES = 'type Notes { title: String! }'

function fails(code: ErrorCode, details?: Record<string, unknown>) {
  return (err: unknown): boolean => {
    assert.ok(isTandemError(err), String(err))
    assert.equal(err.code, code, err.message)
    if (details !== undefined) assert.deepEqual(err.details, details)
    return true
  }
}

type Resolved = { id: string; outcome: string }

/** A asks B (which opens "Pair nearby" first) to pair; resolves with what each side shows. */
async function ask(a: TandemNode, b: TandemNode): Promise<{ out: { id: string; code: string }; inc: PairingRequest }> {
  if (!b.pairingMode().open) b.openPairing()
  await a.dial(b.addresses()[0]!)
  const incoming = once(b, 'pairing:request') as Promise<[PairingRequest]>
  const out = await a.requestPairing(b.deviceID)
  const [inc] = await incoming
  return { out, inc }
}

/** A code that is not `code`. */
function wrong(code: string, n = 1): string {
  return String((Number(code) + n) % 1_000_000).padStart(6, '0')
}

test('nearby pairing: the requester shows a code, the person types it on the other device, they pair and sync', async (t) => {
  const a = await startNode(t, { deviceName: 'phone' })
  const b = await startNode(t, { deviceName: 'laptop' })
  for (const n of [a, b]) await n.db.addCollections(NOTES)
  const bSecret = Buffer.from(b.group.secret.bytes)
  const modes: boolean[] = []
  b.on('pairing:mode', (m) => modes.push(m.open))
  const opened = b.openPairing()
  assert.equal(opened.open, true)
  assert.ok(opened.until! > Date.now() + 170_000 && opened.until! <= Date.now() + 180_000, 'open for 3 minutes')
  assert.deepEqual(b.pairingMode(), opened)
  const started = Date.now()
  const { out, inc } = await ask(a, b)
  t.diagnostic(`request shown on the other device ${Date.now() - started} ms after "pair"`)
  assert.match(out.code, /^\d{6}$/)
  assert.equal(inc.id, out.id, 'the same request id on both devices')
  assert.deepEqual({ ...inc, expiresAt: 0 }, { id: out.id, peerID: a.deviceID, claimedName: 'phone', direction: 'incoming', expiresAt: 0, triesLeft: 3 },
    'the responder shows the name the requester claims, and no code')
  assert.ok(inc.expiresAt > Date.now() + 100_000 && inc.expiresAt <= Date.now() + 120_000, 'expires in 2 minutes')
  assert.deepEqual(b.pairingRequests(), [inc])
  const outRec = a.pairingRequests()
  assert.deepEqual(outRec.map((r) => ({ ...r, expiresAt: 0 })), [{ id: out.id, peerID: b.deviceID, claimedName: 'laptop', direction: 'outgoing', code: out.code, expiresAt: 0, triesLeft: 3 }])

  const resolvedA = once(a, 'pairing:resolved') as Promise<[Resolved]>
  const resolvedB = once(b, 'pairing:resolved') as Promise<[Resolved]>
  const devices: string[] = []
  a.on('device', (d) => devices.push(d.deviceID))
  await b.acceptPairing(inc.id, out.code) // the person types the code A shows; nothing to do on A
  assert.deepEqual((await resolvedA)[0], { id: out.id, outcome: 'accepted' })
  assert.deepEqual((await resolvedB)[0], { id: out.id, outcome: 'accepted' })
  t.diagnostic(`paired ${Date.now() - started} ms after "pair" (the code typed included)`)
  assert.equal(a.group.get(b.deviceID)?.name, 'laptop')
  assert.equal(b.group.get(a.deviceID)?.name, 'phone')
  assert.deepEqual(Buffer.from(a.group.secret.bytes), bSecret, 'A adopted B\'s group (tie: the responder gives)')
  assert.ok(devices.includes(b.deviceID), 'A emitted a device event')
  assert.deepEqual(a.pairingRequests(), [])
  assert.deepEqual(b.pairingRequests(), [])
  assert.deepEqual(b.pairingMode(), { open: false, until: null }, 'one pairing per opening: Pair nearby closed')
  assert.deepEqual(modes, [true, false])

  const id = await a.db.createDocument('Notes', { title: 'from the phone' })
  await eventually(() => b.db.getDocument('Notes', id).catch(() => undefined), 'B syncs A\'s document')
  await assert.rejects(a.requestPairing(b.deviceID), fails('ALREADY_PAIRED'))
})

test('a request to a device that has not opened Pair nearby is refused with a clear reason, and shows nothing there', async (t) => {
  const a = await startNode(t, { deviceName: 'phone' })
  const b = await startNode(t, { deviceName: 'laptop', pairingOpenMs: 1500 })
  const shown: PairingRequest[] = []
  b.on('pairing:request', (r) => shown.push(r))
  await a.dial(b.addresses()[0]!)
  const closed = (err: unknown): boolean => {
    fails('PAIRING_CLOSED')(err)
    assert.match((err as Error).message, /not accepting pairing requests now: open Pair nearby on it/)
    return true
  }
  await assert.rejects(a.requestPairing(b.deviceID), closed, 'never opened')
  b.openPairing()
  b.closePairing()
  await assert.rejects(a.requestPairing(b.deviceID), closed, 'opened, then closed')
  b.openPairing()
  await new Promise((r) => setTimeout(r, 1700))
  assert.deepEqual(b.pairingMode(), { open: false, until: null }, 'Pair nearby closes by itself')
  await assert.rejects(a.requestPairing(b.deviceID), closed, 'opened, then timed out')
  assert.equal(shown.length, 0)
  assert.deepEqual(a.pairingRequests(), [])

  // Closing it declines the requests still pending; one shown near the end lasts no longer than it.
  b.openPairing()
  const { out, inc } = await ask(a, b)
  assert.ok(inc.expiresAt <= b.pairingMode().until! + 50, 'the request ends when Pair nearby does')
  const resolved = once(a, 'pairing:resolved') as Promise<[Resolved]>
  b.closePairing()
  assert.deepEqual((await resolved)[0], { id: out.id, outcome: 'declined' })
  await assert.rejects(b.acceptPairing(inc.id, out.code), fails('NOT_FOUND'))
  assert.equal(a.group.list().length + b.group.list().length, 0)
})

test('a wrong code pairs nothing; the right one within three tries still pairs', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  const before = [Buffer.from(a.group.secret.bytes), Buffer.from(b.group.secret.bytes)]
  const { out, inc } = await ask(a, b)
  const changed: PairingRequest[] = []
  a.on('pairing:changed', (r) => changed.push(r))
  await assert.rejects(b.acceptPairing(inc.id, wrong(out.code)), fails('PAIRING_WRONG_CODE', { triesLeft: 2 }))
  assert.equal(a.group.list().length + b.group.list().length, 0, 'nothing recorded')
  assert.deepEqual([Buffer.from(a.group.secret.bytes), Buffer.from(b.group.secret.bytes)], before, 'no secret handed over')
  assert.equal(b.pairingRequests()[0]?.triesLeft, 2)
  await eventually(() => a.pairingRequests()[0]?.triesLeft === 2, 'the requester is told of the wrong entry')
  await assert.rejects(b.acceptPairing(inc.id, wrong(out.code, 2)), fails('PAIRING_WRONG_CODE', { triesLeft: 1 }))
  await eventually(() => a.pairingRequests()[0]?.triesLeft === 1, 'and of the second')
  const resolved = once(a, 'pairing:resolved') as Promise<[Resolved]>
  await b.acceptPairing(inc.id, out.code)
  assert.deepEqual((await resolved)[0], { id: out.id, outcome: 'accepted' })
  assert.ok(changed.some((r) => r.id === out.id), 'the requester told of a wrong entry')
  assert.ok(a.group.has(b.deviceID) && b.group.has(a.deviceID))
})

test('three wrong codes drop the request on both devices; nothing is recorded', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  const before = [Buffer.from(a.group.secret.bytes), Buffer.from(b.group.secret.bytes)]
  const { out, inc } = await ask(a, b)
  const resolvedA = once(a, 'pairing:resolved') as Promise<[Resolved]>
  const resolvedB = once(b, 'pairing:resolved') as Promise<[Resolved]>
  for (const [n, left] of [[1, 2], [2, 1], [3, 0]] as const) {
    await assert.rejects(b.acceptPairing(inc.id, wrong(out.code, n)), fails('PAIRING_WRONG_CODE', { triesLeft: left }))
  }
  assert.deepEqual((await resolvedA)[0], { id: out.id, outcome: 'wrong-code' })
  assert.deepEqual((await resolvedB)[0], { id: out.id, outcome: 'wrong-code' })
  await assert.rejects(b.acceptPairing(inc.id, out.code), fails('NOT_FOUND'), 'the right code is too late')
  assert.deepEqual(a.pairingRequests(), [])
  assert.deepEqual(b.pairingRequests(), [])
  assert.equal(a.group.list().length + b.group.list().length, 0)
  assert.deepEqual([Buffer.from(a.group.secret.bytes), Buffer.from(b.group.secret.bytes)], before)
})

test('the side with the bigger group hands it over, and its other devices learn of the new one', async (t) => {
  const [a, c, b] = [await startNode(t), await startNode(t), await startNode(t)]
  await c.join(a.invite().uri) // A's group: A and C
  await eventually(() => a.connectedDevices().includes(c.deviceID), 'A and C connected')
  const aSecret = Buffer.from(a.group.secret.bytes)
  // A requests, B (alone) responds: A's group is bigger, so A gives.
  const { out, inc } = await ask(a, b)
  const done = once(a, 'pairing:resolved') as Promise<[Resolved]>
  await b.acceptPairing(inc.id, out.code)
  assert.equal((await done)[0].outcome, 'accepted')
  assert.deepEqual(Buffer.from(b.group.secret.bytes), aSecret, 'B adopted A\'s group')
  await eventually(() => b.group.has(c.deviceID) && c.group.has(b.deviceID), 'B and C know each other')
})

test('declined, withdrawn and expired requests record nothing', async (t) => {
  const a = await startNode(t)
  const b = await startNode(t, { pairingTtlMs: 600 })
  const before = [Buffer.from(a.group.secret.bytes), Buffer.from(b.group.secret.bytes)]

  let { out, inc } = await ask(a, b)
  let resolved = once(a, 'pairing:resolved') as Promise<[Resolved]>
  await b.declinePairing(inc.id)
  assert.deepEqual((await resolved)[0], { id: out.id, outcome: 'declined' })
  await assert.rejects(b.acceptPairing(inc.id, out.code), fails('NOT_FOUND'))

  ;({ out, inc } = await ask(a, b))
  resolved = once(b, 'pairing:resolved') as Promise<[Resolved]>
  await a.declinePairing(out.id) // the requester withdraws
  assert.deepEqual((await resolved)[0], { id: inc.id, outcome: 'declined' })

  ;({ out, inc } = await ask(a, b))
  const resolvedA = once(a, 'pairing:resolved') as Promise<[Resolved]>
  resolved = once(b, 'pairing:resolved') as Promise<[Resolved]>
  // Nobody types the code; the request runs out.
  assert.deepEqual((await resolved)[0], { id: inc.id, outcome: 'expired' })
  assert.deepEqual((await resolvedA)[0], { id: out.id, outcome: 'expired' })
  await assert.rejects(b.acceptPairing(inc.id, out.code), fails('NOT_FOUND'))

  assert.equal(a.group.list().length + b.group.list().length, 0)
  assert.deepEqual([Buffer.from(a.group.secret.bytes), Buffer.from(b.group.secret.bytes)], before)
  assert.deepEqual(a.pairingRequests(), [])
  assert.deepEqual(b.pairingRequests(), [])
})

test('bad pairing input: not a device ID, this device, unreachable, unknown request, bad codes, one request per peer, offline', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  await assert.rejects(a.requestPairing('nope'), fails('INVALID_INPUT'))
  await assert.rejects(a.requestPairing(undefined as unknown as string), fails('INVALID_INPUT'))
  await assert.rejects(a.requestPairing(a.deviceID), fails('INVALID_INPUT'))
  const gone = await startNode(t)
  const goneID = gone.deviceID
  await gone.stop()
  await assert.rejects(a.requestPairing(goneID), fails('UNREACHABLE'))
  await assert.rejects(a.acceptPairing('abc', '123456'), fails('NOT_FOUND'))
  await assert.rejects(a.declinePairing(42 as unknown as string), fails('NOT_FOUND'))
  const { out, inc } = await ask(a, b)
  await assert.rejects(a.requestPairing(b.deviceID), fails('PAIRING_BUSY'))
  for (const bad of ['12345', '1234567', 'abcdef', '12 345', '', undefined, 123456]) {
    await assert.rejects(b.acceptPairing(inc.id, bad as unknown as string), fails('INVALID_INPUT'), String(bad))
  }
  assert.equal(b.pairingRequests()[0]?.triesLeft, 3, 'a malformed code uses no try')
  await assert.rejects(a.acceptPairing(out.id, out.code), fails('INVALID_INPUT'), 'the requester does not type its own code')
  await a.declinePairing(out.id)
  assert.deepEqual(a.nearby(), [], 'mDNS is off on loopback: nobody is nearby')
  await b.pause()
  assert.deepEqual(b.pairingMode(), { open: false, until: null }, 'going offline closes Pair nearby')
  assert.throws(() => b.openPairing(), fails('NETWORK_OFF'))
})

test('an invite can be cancelled by id, code or URI; a cancelled invite is refused', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  const byId = a.invite()
  assert.equal(a.cancelInvite(byId.id), true)
  assert.equal(a.cancelInvite(byId.id), false, 'only once')
  const byCode = a.invite()
  assert.equal(a.cancelInvite(new URL(byCode.uri).searchParams.get('code')!), true)
  const byUri = a.invite()
  assert.equal(a.cancelInvite(byUri.uri), true)
  assert.equal(a.cancelInvite('tandem://pair?junk'), false)
  assert.equal(a.cancelInvite(''), false)
  for (const i of [byId, byCode, byUri]) await assert.rejects(b.join(i.uri), fails('INVITE_UNKNOWN'))
  const used = a.invite()
  await b.join(used.uri)
  assert.equal(a.cancelInvite(used.id), false, 'a used invite cannot be cancelled')
  assert.deepEqual(a.pairing!.listInvites(), [])
})

test('a device of the older nearby protocol (codes compared on both screens) is told apart, not half-paired', async (t) => {
  const a = await startNode(t, { deviceName: 'phone' })
  const old = await startNode(t, { deviceName: 'old laptop' })
  // What an older Tandem serves: nearby 1.0.0 only.
  const { PROTOCOL } = await import('../../main/net/nearby/constants.ts')
  await old.host!.unhandle(PROTOCOL)
  await old.host!.handle('/tandem/nearby/1.0.0', (stream) => { stream.abort(new Error('old')) })
  await a.dial(old.addresses()[0]!)
  await assert.rejects(a.requestPairing(old.deviceID), (err: unknown) => {
    fails('UNREACHABLE')(err)
    assert.match((err as Error).message, /older Tandem/)
    return true
  })
  assert.equal(a.group.list().length, 0)
  assert.equal(old.group.list().length, 0)
})
