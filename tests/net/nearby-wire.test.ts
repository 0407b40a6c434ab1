/**
 * The nearby-pairing protocol against bad peers (raw libp2p hosts speaking it by hand, on loopback):
 * malformed and oversized messages, a nonce that does not open its commitment, a stranger's request
 * without the code, a flood of requests from one address, a stalled handshake, a responder that
 * guesses the code or hands over a group out of turn. Nothing is shown or recorded that should not
 * be, and the node keeps serving honest requests.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { lpStream } from '@libp2p/utils'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { createHost, type Host } from '../../main/net/host.ts'
import { commitment, sessionID } from '../../main/net/nearby/code.ts'
import { HANDSHAKE_MS, MAX_CODE_TRIES, MAX_PENDING_PER_SOURCE, MAX_REQUESTS_PER_SOURCE_PER_MINUTE, PROTOCOL } from '../../main/net/nearby/constants.ts'
import { newCode, proof, proves, startRun } from '../../main/net/nearby/passkey.ts'
import { isTandemError } from '../../shared/errors.ts'
import type { PairingRequest } from '../../main/net/nearby/nearby.ts'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import { eventually, startNode } from '../helpers/nodes.ts'

type T = Parameters<typeof startNode>[0]

async function rawHost(t: T): Promise<Host> {
  const host = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], isMember: () => false })
  t.after(async () => { await host.stop() })
  return host
}

interface Raw { stream: Stream; send: (m: unknown) => Promise<void>; sendBytes: (b: Uint8Array) => Promise<void>; recv: () => Promise<unknown> }

function wrap(stream: Stream): Raw {
  const lp = lpStream(stream, { maxDataLength: 4 * 1024 * 1024 })
  return {
    stream,
    send: (m) => lp.write(dagCbor.encode(m), { signal: AbortSignal.timeout(3000) }),
    sendBytes: (b) => lp.write(b, { signal: AbortSignal.timeout(3000) }),
    // undefined: the other side closed or reset the stream
    recv: async () => {
      try { return dagCbor.decode((await lp.read({ signal: AbortSignal.timeout(HANDSHAKE_MS + 3000) })).subarray()) } catch { return undefined }
    },
  }
}

async function open(host: Host, to: TandemNode): Promise<Raw> {
  // libp2p accepts at most 5 new inbound connections a second from one IP (all of ours are 127.0.0.1).
  await eventually(() => host.dial(multiaddr(to.addresses()[0]!)), 'a connection', 10_000)
  return wrap(await host.dialProtocol(to.host!.peerId, PROTOCOL, { signal: AbortSignal.timeout(5000) }))
}

/** A full, honest handshake by hand: what the responder answered last, and the request's session. */
async function handshake(host: Host, to: TandemNode, name = 'raw'): Promise<{ raw: Raw; answer: unknown; session?: Uint8Array }> {
  const raw = await open(host, to)
  const nonce = randomBytes(16)
  await raw.send({ t: 'request', v: 1, name, commit: commitment(host.peerId.toString(), nonce) })
  const first = await raw.recv() as { t: string; nonce: Uint8Array } | undefined
  if (first?.t !== 'nonce') return { raw, answer: first }
  await raw.send({ t: 'reveal', nonce })
  return { raw, answer: await raw.recv(), session: sessionID(host.peerId.toString(), to.deviceID, nonce, first.nonce) }
}

function counting(node: TandemNode): PairingRequest[] {
  const shown: PairingRequest[] = []
  node.on('pairing:request', (r) => shown.push(r))
  return shown
}

test('malformed, oversized and dishonest handshakes are refused, nothing is shown, and honest requests still work', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  b.openPairing()
  const shown = counting(b)
  const host = await rawHost(t)

  let raw = await open(host, b)
  await raw.sendBytes(new Uint8Array([0xff, 0x00, 0x13])) // not dag-cbor
  assert.equal(await raw.recv(), undefined)
  raw = await open(host, b)
  await raw.send({ t: 'request', v: 2, name: 'x', commit: new Uint8Array(32) }) // unknown version
  assert.equal(await raw.recv(), undefined)
  raw = await open(host, b)
  await raw.send({ t: 'request', v: 1, name: 'x', commit: new Uint8Array(31) }) // short commitment
  assert.equal(await raw.recv(), undefined)
  raw = await open(host, b)
  await raw.send({ t: 'request', v: 1, name: 'x'.repeat(300), commit: new Uint8Array(32) }) // name too long
  assert.equal(await raw.recv(), undefined)
  raw = await open(host, b)
  await raw.sendBytes(new Uint8Array(2 * 1024 * 1024)) // over the 1 MiB bound
  assert.equal(await raw.recv(), undefined)

  // A nonce that does not open the commitment (a requester trying to choose the code).
  raw = await open(host, b)
  await raw.send({ t: 'request', v: 1, name: 'x', commit: commitment(host.peerId.toString(), randomBytes(16)) })
  const nonce = await raw.recv() as { t: string; nonce: Uint8Array }
  assert.equal(nonce.t, 'nonce')
  assert.equal(nonce.nonce.length, 16)
  await raw.send({ t: 'reveal', nonce: randomBytes(16) })
  assert.deepEqual(await raw.recv(), { t: 'error', code: 'PAIRING_FAILED', error: 'The revealed nonce does not match the commitment.', ok: false })

  // A decision before the handshake is done is a malformed request.
  raw = await open(host, b)
  await raw.send({ t: 'accept', devices: 0 })
  assert.equal(await raw.recv(), undefined)

  assert.equal(shown.length, 0, 'nothing was shown')
  assert.deepEqual(b.pairingRequests(), [])
  await a.dial(b.addresses()[0]!)
  const { id } = await a.requestPairing(b.deviceID)
  await eventually(() => shown.length === 1, 'the honest request is shown')
  assert.equal(shown[0]!.id, id)
  assert.equal(b.group.list().length, 0)
})

test('an unsolicited request, with Pair nearby open, gets nothing without the code on its own screen', async (t) => {
  const b = await startNode(t, { deviceName: 'laptop' })
  b.openPairing()
  const secret = Buffer.from(b.group.secret.bytes)
  const stranger = await rawHost(t)
  const shown = counting(b)
  const { raw, answer, session } = await handshake(stranger, b, 'phone') // a look-alike name
  assert.equal((answer as { t: string }).t, 'shown')
  assert.equal(shown.length, 1)
  const req = shown[0]!
  assert.equal(req.claimedName, 'phone')
  assert.equal('code' in req, false, 'the responder shows no code: there is nothing to compare with the stranger\'s screen')

  // The stranger's screen shows its own code; the person here does not see it and types another
  // (say, the one their own phone showed). The stranger answers each run with what it knows.
  const strangerCode = newCode()
  const received: string[] = []
  const answering = (async () => {
    for (;;) {
      const msg = await raw.recv() as { t: string; value?: Uint8Array } | undefined
      if (msg === undefined) return
      received.push(msg.t)
      if (msg.t !== 'try') continue
      const run = startRun(strangerCode, session!, 'requester')
      const key = run.key(msg.value!)
      await raw.send({ t: 'reply', value: run.value, mac: proof(key, 'requester', 5), devices: 5 })
    }
  })()
  const typed = strangerCode === '111111' ? '222222' : '111111'
  for (let left = MAX_CODE_TRIES - 1; left >= 0; left--) {
    await assert.rejects(b.acceptPairing(req.id, typed), (err: unknown) => isTandemError(err, 'PAIRING_WRONG_CODE') && err.details['triesLeft'] === left)
  }
  await answering
  assert.deepEqual(received, ['try', 'wrong', 'try', 'wrong', 'try', 'error'], 'three runs, then the request is dropped; no group sent')
  assert.deepEqual(b.pairingRequests(), [])
  assert.equal(b.group.list().length, 0)
  assert.deepEqual(Buffer.from(b.group.secret.bytes), secret)

  // Forged replies (a value and a proof made up, or out of the group) are no better.
  const again = await handshake(stranger, b, 'phone')
  assert.equal((again.answer as { t: string }).t, 'shown')
  const id = b.pairingRequests()[0]!.id
  void (async () => {
    const msg = await again.raw.recv() as { t: string } | undefined
    if (msg?.t === 'try') await again.raw.send({ t: 'reply', value: Buffer.alloc(256, 0xff), mac: randomBytes(32), devices: 0 })
  })()
  await assert.rejects(b.acceptPairing(id, typed), (err: unknown) => isTandemError(err, 'PAIRING_FAILED'))
  assert.deepEqual(b.pairingRequests(), [])
  assert.equal(b.group.list().length, 0)
})

test('a flood from many peer IDs on one address takes two slots, at most ten a minute; slots free when requests end', async (t) => {
  const b = await startNode(t)
  b.openPairing()
  const shown = counting(b)
  const hosts = await Promise.all(Array.from({ length: MAX_PENDING_PER_SOURCE + 1 }, () => rawHost(t)))
  const sessions: Raw[] = []
  for (const h of hosts.slice(0, MAX_PENDING_PER_SOURCE)) {
    const { raw, answer } = await handshake(h, b)
    assert.equal((answer as { t: string }).t, 'shown', JSON.stringify(answer))
    sessions.push(raw)
  }
  const last = hosts[MAX_PENDING_PER_SOURCE]!
  assert.deepEqual((await handshake(last, b)).answer, { t: 'error', code: 'PAIRING_BUSY', error: 'Too many pairing requests from your network address are waiting on this device: try again later.', ok: false })
  assert.deepEqual((await handshake(hosts[0]!, b)).answer, { t: 'error', code: 'PAIRING_BUSY', error: 'A request from you is pending already.', ok: false })
  assert.equal(b.pairingRequests().length, MAX_PENDING_PER_SOURCE)
  assert.equal(shown.length, MAX_PENDING_PER_SOURCE)

  // One requester goes away: its request ends as expired and its slot is free again.
  let ended = once(b, 'pairing:resolved') as Promise<[{ id: string; outcome: string }]>
  sessions[0]!.stream.abort(new Error('gone'))
  assert.equal((await ended)[0].outcome, 'expired')
  let started = MAX_PENDING_PER_SOURCE
  const { raw } = await handshake(last, b)
  started++
  // Requests that come and go: at most MAX_REQUESTS_PER_SOURCE_PER_MINUTE started a minute.
  let current = raw
  while (started < MAX_REQUESTS_PER_SOURCE_PER_MINUTE) {
    ended = once(b, 'pairing:resolved') as Promise<[{ id: string; outcome: string }]>
    current.stream.abort(new Error('gone'))
    await ended
    const next = await handshake(last, b)
    assert.equal((next.answer as { t: string }).t, 'shown', `request ${started + 1}`)
    current = next.raw
    started++
  }
  ended = once(b, 'pairing:resolved') as Promise<[{ id: string; outcome: string }]>
  current.stream.abort(new Error('gone'))
  await ended
  assert.deepEqual((await handshake(last, b)).answer, { t: 'error', code: 'PAIRING_BUSY', error: 'Too many pairing requests from your network address: try again in a minute.', ok: false })
  assert.equal(b.group.list().length, 0)
})

test('a stalled handshake is dropped after its deadline and frees its slot', { timeout: 60_000 }, async (t) => {
  const b = await startNode(t)
  b.openPairing()
  const host = await rawHost(t)
  const raw = await open(host, b) // says nothing
  const started = Date.now()
  assert.deepEqual((await handshake(host, b)).answer, { t: 'error', code: 'PAIRING_BUSY', error: 'A request from you is pending already.', ok: false })
  assert.equal(await raw.recv(), undefined, 'the stalled stream is closed')
  const waited = Date.now() - started
  assert.ok(waited >= HANDSHAKE_MS - 500 && waited < HANDSHAKE_MS + 5000, `dropped after ${waited} ms`)
  assert.equal(((await handshake(host, b)).answer as { t: string }).t, 'shown')
})

/** A raw responder: answers the handshake, then runs `after` on the stream. */
async function rawResponder(t: T, after: (raw: Raw, session: Uint8Array) => Promise<void>): Promise<Host> {
  const host = await rawHost(t)
  await host.handle(PROTOCOL, (stream, connection) => {
    void (async () => {
      const raw = wrap(stream)
      await raw.recv()
      const nonce = randomBytes(16)
      await raw.send({ t: 'nonce', nonce, name: 'laptop' })
      const reveal = await raw.recv() as { nonce: Uint8Array }
      await raw.send({ t: 'shown', ttlMs: 60_000 })
      await after(raw, sessionID(connection.remotePeer.toString(), host.peerId.toString(), reveal.nonce, nonce))
    })().catch(() => {})
  })
  return host
}

test('a responder that hands over a group or confirms before the code matched is refused; nothing is adopted', async (t) => {
  const a = await startNode(t)
  const fake = (host: Host) => ({ epoch: 99, secret: randomBytes(32), devices: [{ deviceID: host.peerId.toString(), name: 'evil', addrs: [], addedAt: 0, removedAt: null }] })
  const early = await rawResponder(t, async (raw) => {
    await raw.send({ t: 'welcome', name: 'evil', state: fake(early) })
  })
  const unproven = await rawResponder(t, async (raw) => {
    await raw.send({ t: 'confirm', mac: randomBytes(32), devices: 5 })
    await raw.send({ t: 'welcome', name: 'evil', state: fake(unproven) })
  })
  const secret = Buffer.from(a.group.secret.bytes)
  for (const host of [early, unproven]) {
    await a.dial(host.getMultiaddrs()[0]!.toString())
    const resolved = once(a, 'pairing:resolved') as Promise<[{ id: string; outcome: string }]>
    const { id, code } = await a.requestPairing(host.peerId.toString())
    assert.match(code, /^\d{6}$/)
    assert.deepEqual((await resolved)[0], { id, outcome: 'expired' })
  }
  assert.deepEqual(Buffer.from(a.group.secret.bytes), secret)
  assert.equal(a.group.list().length, 0)
})

test('a responder that does not know the code gets three guesses, learns nothing else, and pairs with nothing', async (t) => {
  const a = await startNode(t)
  const sent: Array<Record<string, unknown>> = []
  let matched = 0
  const guesser = await rawResponder(t, async (raw, session) => {
    // The code never travels: the guesser can only run the exchange with guesses, one per run.
    for (let i = 0; i < MAX_CODE_TRIES + 1; i++) {
      const run = startRun(newCode(), session, 'responder')
      await raw.send({ t: 'try', value: run.value })
      const reply = await raw.recv() as { t: string; value: Uint8Array; mac: Uint8Array; devices: number } | undefined
      if (reply === undefined) return
      sent.push(reply)
      if (reply.t !== 'reply') return
      if (proves(run.key(reply.value), 'requester', reply.devices, reply.mac)) matched++
    }
  })
  await a.dial(guesser.getMultiaddrs()[0]!.toString())
  const resolved = once(a, 'pairing:resolved') as Promise<[{ id: string; outcome: string }]>
  const { id, code } = await a.requestPairing(guesser.peerId.toString())
  assert.deepEqual((await resolved)[0], { id, outcome: 'wrong-code' })
  await eventually(() => sent.length === MAX_CODE_TRIES + 1, 'the answer to the fourth run')
  assert.equal(matched, 0, 'no guess matched (one in 10^6 each)')
  assert.deepEqual(sent.map((m) => m['t']), ['reply', 'reply', 'reply', 'error'], 'three runs answered, the fourth refused')
  for (const m of sent.slice(0, 3)) {
    assert.deepEqual(Object.keys(m).sort(), ['devices', 'mac', 't', 'value'], 'no field carries the code')
    assert.ok(!JSON.stringify(m).includes(code))
  }
  assert.equal(a.group.list().length, 0)
})

test('a responder that refuses or answers junk gives the requester a typed error', async (t) => {
  const a = await startNode(t)
  const busy = await rawHost(t)
  await busy.handle(PROTOCOL, (stream) => {
    void (async () => { const raw = wrap(stream); await raw.recv(); await raw.send({ t: 'error', code: 'PAIRING_BUSY', error: 'busy' }) })().catch(() => {})
  })
  const junk = await rawHost(t)
  await junk.handle(PROTOCOL, (stream) => {
    void (async () => { const raw = wrap(stream); await raw.recv(); await raw.send({ t: 'nonce', nonce: new Uint8Array(3), name: 1 }) })().catch(() => {})
  })
  for (const h of [busy, junk]) await a.dial(h.getMultiaddrs()[0]!.toString())
  await assert.rejects(a.requestPairing(busy.peerId.toString()), (err: Error & { code?: string }) => err.code === 'PAIRING_BUSY')
  await assert.rejects(a.requestPairing(junk.peerId.toString()), (err: Error & { code?: string }) => err.code === 'PAIRING_FAILED' && /malformed/.test(err.message))
  assert.deepEqual(a.pairingRequests(), [])
})
