/**
 * Slow senders that never finish: on every protocol, a group device (and, for pairing, a stranger)
 * starts a message and stops, or drips one byte a second forever. The server must close the stream
 * by its protocol's deadline (so a stalled peer cannot hold a stream and its memory), and keep
 * serving meanwhile. This file mostly waits (up to the longest deadline, 60 s), so it runs beside
 * the other tests rather than adding to them.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PROTOCOL as DAG, TIMEOUT_MS as DAG_MS } from '../../main/net/dag-sync/constants.ts'
import { PROTOCOL as HEADS, TIMEOUT_MS as HEADS_MS } from '../../main/net/head-exchange/constants.ts'
import { PROTOCOL as REPLICATE, TIMEOUT_MS as REPLICATE_MS } from '../../main/net/replicate/constants.ts'
import { PROTOCOL as PAIR, TIMEOUT_MS as PAIR_MS } from '../../main/net/pairing/constants.ts'
import { PROTOCOL as GROUP, TIMEOUT_MS as GROUP_MS } from '../../main/net/group-sync/constants.ts'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { endOf, varint, type Exchange } from './wire-client.ts'

const SDL = 'type Notes { title: String! }'
const SLACK_MS = 15_000

async function slow(from: TandemNode, to: TandemNode, protocol: string, drip: boolean, waitMs: number): Promise<Exchange> {
  const stream = await from.host!.dialProtocol(to.host!.peerId, protocol, { signal: AbortSignal.timeout(10_000) })
  const first = [varint(1000), new Uint8Array([0xa1])] // a 1000-byte message that never completes
  if (!drip) return endOf(stream, first, { closeWrite: false, waitMs })
  const timer = setInterval(() => { if (stream.status === 'open') stream.send(new Uint8Array([0x61])) }, 1000)
  try {
    return await endOf(stream, first, { closeWrite: false, waitMs })
  } finally {
    clearInterval(timer)
  }
}

test('slow senders that never finish are cut off at each protocol deadline, and the node keeps serving', { timeout: 180_000 }, async (t) => {
  const a = await startNode(t)
  const b = await startNode(t)
  const stranger = await startNode(t)
  await a.db.addCollections(SDL)
  await b.db.addCollections(SDL)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'group connected')
  await stranger.dial(a.addresses()[0]!)
  const cases: Array<[string, number, TandemNode]> = [
    [DAG, DAG_MS, b], [HEADS, HEADS_MS, b], [REPLICATE, REPLICATE_MS, b], [GROUP, GROUP_MS, b], [PAIR, PAIR_MS, stranger], [PAIR, PAIR_MS, b],
  ]
  const runs = cases.flatMap(([protocol, deadline, from]) => [false, true].map(async (drip) => {
    const r = await slow(from, a, protocol, drip, deadline + SLACK_MS)
    return { protocol, deadline, drip, r }
  }))
  // Meanwhile the node serves its group.
  const id = await a.db.createDocument('Notes', { title: 'while stalled' })
  await eventually(() => b.db.getDocument('Notes', id).catch(() => undefined), 'B got a change while slow senders hang on')
  for (const { protocol, deadline, drip, r } of await Promise.all(runs)) {
    t.diagnostic(`${protocol}${drip ? ' (drip)' : ''}: ${r.ending} after ${Math.round(r.ms)} ms (deadline ${deadline} ms)`)
    assert.notEqual(r.ending, 'timeout', `${protocol}: a slow sender held the stream past ${deadline + SLACK_MS} ms`)
    assert.ok(r.ms <= deadline + SLACK_MS)
  }
  const report = await b.syncWith(a.deviceID)
  assert.ok(report.collections >= 1)
})
