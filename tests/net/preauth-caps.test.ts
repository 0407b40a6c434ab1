/**
 * Messages before authentication are small (wire.ts MAX_PREAUTH_MESSAGE_BYTES): a stranger whose
 * first pairing or nearby message declares more is cut off as soon as its length is read, and one
 * that keeps sending after it was refused is cut off too — neither can park data in the node's
 * memory until a deadline. The welcome, which carries the whole group and comes after the proof
 * (or the person's accept), may still be large: a big group pairs as before, both ways.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Stream } from '@libp2p/interface'
import { PROTOCOL as PAIR } from '../../main/net/pairing/constants.ts'
import { PROTOCOL as NEARBY } from '../../main/net/nearby/constants.ts'
import { PROTOCOL as DAG } from '../../main/net/dag-sync/constants.ts'
import { PROTOCOL as HEADS } from '../../main/net/head-exchange/constants.ts'
import { PROTOCOL as REPLICATE } from '../../main/net/replicate/constants.ts'
import type { PairingRequest } from '../../main/net/nearby/nearby.ts'
import { MAX_PREAUTH_MESSAGE_BYTES } from '../../main/net/wire.ts'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import { startNode } from '../helpers/nodes.ts'
import { frame, varint } from '../fuzz/wire-client.ts'

/** Sends `bytes` on a new stream and keeps it open: how long until the node ends the stream (null: not within `waitMs`). */
async function endedAfter(from: TandemNode, to: TandemNode, protocol: string, bytes: Uint8Array[], waitMs: number): Promise<number | null> {
  const started = performance.now()
  const stream: Stream = await from.host!.dialProtocol(to.host!.peerId, protocol, { signal: AbortSignal.timeout(5000) })
  const closed = once(stream, 'close').then(() => performance.now() - started)
  for (const b of bytes) if (stream.status === 'open' && !stream.send(b)) await stream.onDrain({ signal: AbortSignal.timeout(5000) }).catch(() => {})
  const ms = await Promise.race([closed, new Promise<null>((r) => setTimeout(() => r(null), waitMs).unref())])
  stream.abort(new Error('done'))
  return ms
}

/** `n` made-up devices with long names and several addresses, so that the group state is large. */
async function bigGroup(node: TandemNode, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    await node.group.add({ deviceID: id, name: `device number ${i} `.padEnd(60, 'x'), addrs: [1, 2, 3, 4].map((p) => `/ip4/192.168.1.${i + 1}/tcp/${9170 + p}`) })
  }
}

test('a stranger\'s first message over the pre-authentication cap is cut off at once, on pairing and nearby', async (t) => {
  const [a, stranger] = [await startNode(t), await startNode(t)]
  await stranger.dial(a.addresses()[0]!)
  a.openPairing() // so the nearby request is read, not refused unread
  const over = MAX_PREAUTH_MESSAGE_BYTES + 1024 // within the old 1 MiB cap; a tenth of it sent, then nothing
  for (const protocol of [PAIR, NEARBY]) {
    const ms = await endedAfter(stranger, a, protocol, [varint(over), new Uint8Array(over / 10)], 5_000)
    assert.ok(ms !== null && ms < 3_000, `${protocol}: the stream was ended ${ms === null ? 'not within 5 s (held until the deadline)' : `after ${Math.round(ms)} ms`}`)
  }
  // With Pair nearby closed the request is refused unread; the stream still ends soon after.
  a.closePairing()
  const ms = await endedAfter(stranger, a, NEARBY, [varint(over), new Uint8Array(over / 10)], 5_000)
  assert.ok(ms !== null && ms < 3_000, `refused nearby request: the stream was ended ${ms === null ? 'not within 5 s' : `after ${Math.round(ms)} ms`}`)
})

test('a refused stranger that keeps sending is cut off instead of filling the node\'s buffers', async (t) => {
  const [a, stranger] = [await startNode(t), await startNode(t)]
  await stranger.dial(a.addresses()[0]!)
  // An unknown invite: the node answers with an error and closes its side; 256 KiB more follow.
  const hello = frame({ t: 'hello', v: 1, invite: 'nosuchinvite', name: 'stranger', nonce: new Uint8Array(16) })
  const ms = await endedAfter(stranger, a, PAIR, [hello, ...Array.from({ length: 4 }, () => new Uint8Array(64 * 1024))], 5_000)
  assert.ok(ms !== null && ms < 3_000, `the stream was ended ${ms === null ? 'not within 5 s' : `after ${Math.round(ms)} ms`}`)
})

test('a welcome larger than the pre-authentication cap still arrives: by invite and nearby', async (t) => {
  const [a, b, c, d] = [await startNode(t), await startNode(t), await startNode(t), await startNode(t)]
  await bigGroup(a, 40)
  const state = frame(a.group.state(a.addresses())).length
  assert.ok(state > 2 * MAX_PREAUTH_MESSAGE_BYTES, `the group state is ${state} bytes`)
  await b.join(a.invite().uri)
  assert.equal(b.group.list().length, 41, 'the joiner got the whole group by invite')

  await bigGroup(c, 40)
  await d.dial(c.addresses()[0]!)
  c.openPairing()
  const incoming = once(c, 'pairing:request') as Promise<[PairingRequest]>
  const out = await d.requestPairing(c.deviceID)
  const [inc] = await incoming
  const resolved = once(d, 'pairing:resolved') as Promise<[{ outcome: string }]>
  await c.acceptPairing(inc.id, out.code) // the person types the code d shows
  assert.equal((await resolved)[0].outcome, 'accepted')
  assert.equal(d.group.list().length, 41, 'the requester got the whole group nearby')
})

test('a stranger on a group protocol is refused, and its stream ends even if it keeps its side open', async (t) => {
  const [a, stranger] = [await startNode(t), await startNode(t)]
  await stranger.dial(a.addresses()[0]!)
  for (const protocol of [DAG, HEADS, REPLICATE]) {
    // A message declared under the cap, a little of it sent, then silence: nothing to read past the refusal.
    const ms = await endedAfter(stranger, a, protocol, [varint(1000), new Uint8Array(100)], 5_000)
    assert.ok(ms !== null && ms < 3_000, `${protocol}: the stream was ended ${ms === null ? 'not within 5 s' : `after ${Math.round(ms)} ms`}`)
    // Over the cap: cut at once.
    const over = await endedAfter(stranger, a, protocol, [varint(1024 * 1024), new Uint8Array(64 * 1024)], 5_000)
    assert.ok(over !== null && over < 3_000, `${protocol}, oversized: ended ${over === null ? 'not within 5 s' : `after ${Math.round(over)} ms`}`)
  }
})
