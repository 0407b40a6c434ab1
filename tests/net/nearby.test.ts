/**
 * Nearby pairing over loopback (mDNS off: the peers are dialed by address instead of discovered):
 * the request, the code on both sides, both accepts, who hands over the group, declines, expiry,
 * and every bad input. tests/net/nearby-wire.test.ts covers malformed messages and floods.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { isTandemError, type ErrorCode } from '../../shared/errors.ts'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import type { PairingRequest } from '../../main/net/nearby/nearby.ts'
import { eventually, startNode } from '../helpers/nodes.ts'

const NOTES = 'type Notes { title: String! }'

function fails(code: ErrorCode) {
  return (err: unknown): boolean => {
    assert.ok(isTandemError(err), String(err))
    assert.equal(err.code, code, err.message)
    return true
  }
}

type Resolved = { id: string; outcome: string }

/** A asks B to pair; resolves with what each side shows. */
async function ask(a: TandemNode, b: TandemNode): Promise<{ out: { id: string; code: string }; inc: PairingRequest }> {
  await a.dial(b.addresses()[0]!)
  const incoming = once(b, 'pairing:request') as Promise<[PairingRequest]>
  const out = await a.requestPairing(b.deviceID)
  const [inc] = await incoming
  return { out, inc }
}

test('nearby pairing: both show the same code, both accept, the responder hands over its group, they sync', async (t) => {
  const a = await startNode(t, { deviceName: 'phone' })
  const b = await startNode(t, { deviceName: 'laptop' })
  for (const n of [a, b]) await n.db.addCollections(NOTES)
  const bSecret = Buffer.from(b.group.secret.bytes)
  const started = Date.now()
  const { out, inc } = await ask(a, b)
  t.diagnostic(`request shown on the other device ${Date.now() - started} ms after "pair"`)
  assert.match(out.code, /^\d{6}$/)
  assert.equal(inc.code, out.code, 'both devices show the same code')
  assert.equal(inc.id, out.id, 'and the same request id')
  assert.equal(inc.direction, 'incoming')
  assert.equal(inc.name, 'phone')
  assert.equal(inc.peerID, a.deviceID)
  assert.ok(inc.expiresAt > Date.now() + 100_000 && inc.expiresAt <= Date.now() + 120_000, 'expires in 2 minutes')
  const outRec = a.pairingRequests()
  assert.equal(outRec.length, 1)
  assert.deepEqual({ ...outRec[0], expiresAt: 0 }, { id: out.id, peerID: b.deviceID, name: 'laptop', code: out.code, direction: 'outgoing', expiresAt: 0 })

  // One accept is not enough: nothing happens until both people confirmed the code.
  await b.acceptPairing(inc.id)
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(a.group.list().length + b.group.list().length, 0, 'nothing recorded on one accept')
  const resolvedA = once(a, 'pairing:resolved') as Promise<[Resolved]>
  const resolvedB = once(b, 'pairing:resolved') as Promise<[Resolved]>
  const devices: string[] = []
  a.on('device', (d) => devices.push(d.deviceID))
  await a.acceptPairing(out.id)
  assert.deepEqual((await resolvedA)[0], { id: out.id, outcome: 'accepted' })
  assert.deepEqual((await resolvedB)[0], { id: out.id, outcome: 'accepted' })
  t.diagnostic(`paired ${Date.now() - started} ms after "pair" (accepts included)`)
  assert.equal(a.group.get(b.deviceID)?.name, 'laptop')
  assert.equal(b.group.get(a.deviceID)?.name, 'phone')
  assert.deepEqual(Buffer.from(a.group.secret.bytes), bSecret, 'A adopted B\'s group (tie: the responder gives)')
  assert.ok(devices.includes(b.deviceID), 'A emitted a device event')
  assert.deepEqual(a.pairingRequests(), [])
  assert.deepEqual(b.pairingRequests(), [])

  const id = await a.db.createDocument('Notes', { title: 'from the phone' })
  await eventually(() => b.db.getDocument('Notes', id).catch(() => undefined), 'B syncs A\'s document')
  await assert.rejects(a.requestPairing(b.deviceID), fails('ALREADY_PAIRED'))
})

test('the side with the bigger group hands it over, and its other devices learn of the new one', async (t) => {
  const [a, c, b] = [await startNode(t), await startNode(t), await startNode(t)]
  await c.join(a.invite().uri) // A's group: A and C
  await eventually(() => a.connectedDevices().includes(c.deviceID), 'A and C connected')
  const aSecret = Buffer.from(a.group.secret.bytes)
  // A requests, B (alone) responds: A's group is bigger, so A gives.
  const { out, inc } = await ask(a, b)
  const done = once(b, 'pairing:resolved') as Promise<[Resolved]>
  await Promise.all([a.acceptPairing(out.id), b.acceptPairing(inc.id)])
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
  await a.acceptPairing(out.id)
  await b.declinePairing(inc.id)
  assert.deepEqual((await resolved)[0], { id: out.id, outcome: 'declined' })
  await assert.rejects(b.acceptPairing(inc.id), fails('NOT_FOUND'))

  ;({ out, inc } = await ask(a, b))
  resolved = once(b, 'pairing:resolved') as Promise<[Resolved]>
  await a.declinePairing(out.id) // the requester withdraws
  assert.deepEqual((await resolved)[0], { id: inc.id, outcome: 'declined' })

  ;({ out, inc } = await ask(a, b))
  const resolvedA = once(a, 'pairing:resolved') as Promise<[Resolved]>
  resolved = once(b, 'pairing:resolved') as Promise<[Resolved]>
  await b.acceptPairing(inc.id) // only one side accepts; the request runs out
  assert.deepEqual((await resolved)[0], { id: inc.id, outcome: 'expired' })
  assert.deepEqual((await resolvedA)[0], { id: out.id, outcome: 'expired' })
  await assert.rejects(a.acceptPairing(out.id), fails('NOT_FOUND'))

  assert.equal(a.group.list().length + b.group.list().length, 0)
  assert.deepEqual([Buffer.from(a.group.secret.bytes), Buffer.from(b.group.secret.bytes)], before)
  assert.deepEqual(a.pairingRequests(), [])
  assert.deepEqual(b.pairingRequests(), [])
})

test('bad pairing input: not a device ID, this device, unreachable, unknown request, one request per peer', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  await assert.rejects(a.requestPairing('nope'), fails('INVALID_INPUT'))
  await assert.rejects(a.requestPairing(undefined as unknown as string), fails('INVALID_INPUT'))
  await assert.rejects(a.requestPairing(a.deviceID), fails('INVALID_INPUT'))
  const gone = await startNode(t)
  const goneID = gone.deviceID
  await gone.stop()
  await assert.rejects(a.requestPairing(goneID), fails('UNREACHABLE'))
  await assert.rejects(a.acceptPairing('abc'), fails('NOT_FOUND'))
  await assert.rejects(a.declinePairing(42 as unknown as string), fails('NOT_FOUND'))
  const { out } = await ask(a, b)
  await assert.rejects(a.requestPairing(b.deviceID), fails('PAIRING_BUSY'))
  await a.declinePairing(out.id)
  assert.deepEqual(a.nearby(), [], 'mDNS is off on loopback: nobody is nearby')
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
