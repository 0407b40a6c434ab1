/**
 * The asking side of each protocol against a hostile answerer: a group device whose DAG-sync,
 * head-exchange and replication handlers answer random bytes, random CBOR frames or mutations of a
 * valid answer, and an inviting device whose pairing handler does the same. Every call settles
 * (an error or a result) once the answerer closes, nothing bad is applied, the group is unchanged,
 * and the node goes on syncing with its honest devices.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Stream } from '@libp2p/interface'
import { PROTOCOL as DAG } from '../../main/net/dag-sync/constants.ts'
import { PROTOCOL as HEADS } from '../../main/net/head-exchange/constants.ts'
import { PROTOCOL as REPLICATE } from '../../main/net/replicate/constants.ts'
import { PROTOCOL as PAIR } from '../../main/net/pairing/constants.ts'
import { push } from '../../main/net/replicate/protocol.ts'
import { formatInvite, newInviteSecrets } from '../../main/net/pairing/invite.ts'
import type { DeviceID } from '../../shared/types.ts'
import { storeOf } from '../../main/db/database.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { fuzz, mutated } from './fuzz-seed.ts'
import { frame } from './wire-client.ts'

const SDL = 'type Notes { title: String! body: String }'

const cborValue = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, fc.string({ maxLength: 30 }), fc.integer(), fc.boolean(), fc.constant(null),
    fc.uint8Array({ maxLength: 64 }), fc.array(tie('v'), { maxLength: 6 }),
    fc.dictionary(fc.constantFrom('blocks', 'att', 'done', 'truncated', 'missing', 'error', 'cols', 'unknown', 'buckets', 'id', 'docs', 'c', 'd', 'h', 'ok', 'applied', 'duplicate', 'pending', 'rejected', 't', 'nonce', 'mac', 'state', 'x'), tie('v'), { maxKeys: 6 })),
}))

test('hostile answers to DAG sync, head exchange, replication and pairing are survived', async (t) => {
  const a = await startNode(t)
  const honest = await startNode(t)
  const evil = await startNode(t)
  for (const n of [a, honest, evil]) await n.db.addCollections(SDL)
  await formGroup([a, honest, evil])
  await eventually(() => a.connectedDevices().length === 2, 'group connected')
  const id = await evil.db.createDocument('Notes', { title: 'shared' })
  await eventually(() => a.db.getDocument('Notes', id).catch(() => undefined), 'A has the shared document')
  const collection = (await a.db.getCollection('Notes')).id
  const head = (await a.db.getDocument('Notes', id)).heads[0]!
  const block = (await a.db.getBlock(head))!
  const digest = new Uint8Array(32).fill(3)

  // The evil device answers whatever the current case says, then closes.
  let answer: Uint8Array[] = []
  for (const protocol of [DAG, HEADS, REPLICATE, PAIR]) {
    await evil.host!.unhandle(protocol)
    await evil.host!.handle(protocol, (stream: Stream) => {
      for (const b of answer) stream.send(b)
      void stream.close().catch(() => stream.abort(new Error('x')))
    }, { maxInboundStreams: 64 })
  }
  const validAnswers: Record<string, Uint8Array> = {
    [DAG]: Buffer.concat([frame({ blocks: [block] }), frame({ done: true, truncated: false, missing: [] })]),
    [HEADS]: Buffer.concat([frame({ cols: [{ id: collection, buckets: new Uint8Array(256 * 32).fill(1) }], unknown: [] }), frame({ docs: [{ c: collection, d: id, h: [head] }] }), frame({ done: true })]),
    [REPLICATE]: frame({ ok: true, applied: 1, duplicate: 0, pending: [], rejected: 0 }),
    [PAIR]: frame({ t: 'challenge', nonce: new Uint8Array(16) }),
  }
  const blocksBefore = JSON.stringify(await storeOf(a.db).blocks.keys().all())
  const groupBefore = JSON.stringify({ devices: a.group.list().map((d) => [d.deviceID, d.removedAt]), secret: Buffer.from(a.group.secret.bytes).toString('hex') })
  const { id: inviteID, code } = newInviteSecrets()
  const invite = formatInvite({ peer: evil.deviceID as DeviceID, addrs: evil.addresses().slice(0, 1), id: inviteID, code, name: 'evil' })
  const outcomes: Record<string, number> = {}
  const calls: Record<string, () => Promise<unknown>> = {
    [DAG]: () => a.dagSync!.fetch(evil.host!.peerId, [head.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'))]),
    [HEADS]: () => a.syncWith(evil.deviceID),
    [REPLICATE]: () => push(a.host!, evil.host!.peerId, [], [block]),
    [PAIR]: async () => {
      // A device of this group is refused up front; try it as a stranger's invite from a fresh node.
      return joiner.join(invite)
    },
  }
  const joiner = await startNode(t)
  const settle = async (protocol: string): Promise<void> => {
    const started = performance.now()
    const outcome = await Promise.race([
      calls[protocol]!().then(() => 'ok', (err: Error & { code?: string }) => (err.code !== undefined ? `typed:${err.code}` : 'error')),
      new Promise<string>((r) => setTimeout(() => r('hung'), 15_000).unref()),
    ])
    outcomes[`${protocol.split('/')[2]} ${outcome.split(':')[0]}`] = (outcomes[`${protocol.split('/')[2]} ${outcome.split(':')[0]}`] ?? 0) + 1
    assert.notEqual(outcome, 'hung', `${protocol}: the call did not settle after ${Math.round(performance.now() - started)} ms`)
  }
  let total = 0
  for (const protocol of [DAG, HEADS, REPLICATE, PAIR]) {
    const name = protocol.split('/')[2]!
    total += await fuzz(t, `${name} answers: random bytes`, fc.uint8Array({ minLength: 0, maxLength: 600 }), 20, async (b) => { answer = [b]; await settle(protocol) })
    total += await fuzz(t, `${name} answers: random CBOR frames`, fc.array(cborValue.v, { minLength: 1, maxLength: 4 }), 30, async (vs) => { answer = vs.map(frame); await settle(protocol) })
    total += await fuzz(t, `${name} answers: mutated valid answer`, mutated(validAnswers[protocol]!), 40, async (b) => { answer = [b]; await settle(protocol) })
  }
  t.diagnostic(`hostile answers: ${total} cases; outcomes ${JSON.stringify(outcomes)}`)
  // Joining is a call people make: whatever the inviter sends, the error carries a stable code.
  assert.equal(outcomes['pair error'] ?? 0, 0, 'every failed join says why with a typed error')

  assert.equal(JSON.stringify(await storeOf(a.db).blocks.keys().all()), blocksBefore, 'nothing new was applied')
  assert.equal(JSON.stringify({ devices: a.group.list().map((d) => [d.deviceID, d.removedAt]), secret: Buffer.from(a.group.secret.bytes).toString('hex') }), groupBefore, 'the group is unchanged')
  assert.equal(joiner.group.list().length, 0, 'the joiner joined nothing')
  // Still syncing with the honest device.
  const fresh = await honest.db.createDocument('Notes', { title: 'from the honest one' })
  await a.syncWith(honest.deviceID)
  await eventually(() => a.db.getDocument('Notes', fresh).catch(() => undefined), 'A syncs with its honest device')
})
