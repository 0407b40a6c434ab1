/**
 * 200 strangers at once (bare libp2p hosts with their own peer IDs, in a worker thread, on
 * loopback), each opening pairing streams whose first message is oversized (a length within the
 * old 1 MiB cap, 256 KiB of it sent, then held) or slow (one byte a second). Meanwhile the node keeps
 * serving its group — a paired device's edit reaches it — and its memory (heap and the buffers
 * outside it, measured after a full GC) stays bounded.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import v8 from 'node:v8'
import vm from 'node:vm'
import { Worker } from 'node:worker_threads'
import { PROTOCOL as PAIR } from '../../main/net/pairing/constants.ts'
import { PROTOCOL as NEARBY } from '../../main/net/nearby/constants.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import type { StrangersInit, StrangersReport } from './strangers.ts'

const SDL = 'type Notes { title: String! }'
const STRANGERS = 200
const SENT_BYTES = 256 * 1024
/** Growth allowed over the flood: 200 connections with their Noise and Yamux state, not their messages. */
const BOUND_MIB = 64

v8.setFlagsFromString('--expose_gc')
const gc = vm.runInNewContext('gc') as () => void
/** Heap in use and ArrayBuffers (where received bytes live), after a full GC, in MiB. */
function memory(): { heap: number; buffers: number } {
  gc()
  gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed / 2 ** 20, buffers: m.arrayBuffers / 2 ** 20 }
}

test('200 strangers flooding pairing with oversized and slow first messages: the node keeps serving its group, its memory stays bounded', { timeout: 90_000 }, async (t) => {
  const a = await startNode(t)
  const b = await startNode(t)
  for (const n of [a, b]) await n.db.addCollections(SDL)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'group connected')
  const warm = await b.db.createDocument('Notes', { title: 'before the flood' })
  await eventually(() => a.db.getDocument('Notes', warm).catch(() => undefined), 'A syncs with B')
  const before = memory()

  const init: StrangersInit = {
    target: a.addresses().find((x) => x.startsWith('/ip4/127.0.0.1/tcp/'))!,
    count: STRANGERS,
    plan: [
      { protocol: PAIR, kind: 'oversized' }, { protocol: PAIR, kind: 'oversized' },
      { protocol: PAIR, kind: 'slow' }, { protocol: PAIR, kind: 'slow' },
      { protocol: NEARBY, kind: 'oversized' },
    ],
    declaredBytes: 1024 * 1024 - 64,
    sentBytes: SENT_BYTES,
    deadlineMs: 30_000,
  }
  const worker = new Worker(new URL('./strangers.ts', import.meta.url), { workerData: init })
  t.after(() => worker.terminate())
  const ready = once(worker, 'message') as Promise<[StrangersReport]>

  // While the strangers come in: a paired device's edit still reaches the node.
  const started = performance.now()
  const id = await b.db.createDocument('Notes', { title: 'during the flood' })
  await eventually(() => a.db.getDocument('Notes', id).catch(() => undefined), 'B\'s edit reaches A during the flood', 15_000)
  const syncMs = performance.now() - started

  const [flood] = await ready
  t.diagnostic(`strangers: ${flood.connected}/${STRANGERS} connected (${flood.refusals} dials refused first), ${flood.opened} streams opened in ${flood.ms} ms`)
  assert.ok(flood.connected >= STRANGERS * 0.9, `most strangers got a connection (${flood.connected})`)
  assert.ok(flood.opened >= flood.connected * 4, `they opened their streams (${flood.opened})`)
  // Let the oversized messages arrive, then measure while the slow ones are still held open.
  await new Promise((r) => setTimeout(r, 2_000))
  const during = memory()
  const id2 = await b.db.createDocument('Notes', { title: 'at the height of the flood' })
  await eventually(() => a.db.getDocument('Notes', id2).catch(() => undefined), 'B\'s edit reaches A at the height of the flood', 10_000)
  worker.postMessage('report')
  const [ends] = await once(worker, 'message') as [StrangersReport]
  const connections = a.host!.getConnections().length
  const grew = { heap: during.heap - before.heap, buffers: during.buffers - before.buffers }
  t.diagnostic(`node: ${connections} connections; heap ${before.heap.toFixed(1)} → ${during.heap.toFixed(1)} MiB (+${grew.heap.toFixed(1)}), ` +
    `ArrayBuffers ${before.buffers.toFixed(1)} → ${during.buffers.toFixed(1)} MiB (+${grew.buffers.toFixed(1)}); ` +
    `edit synced in ${Math.round(syncMs)} ms; streams ended by the node: ${JSON.stringify(ends.ended)}`)
  assert.ok(grew.heap + grew.buffers < BOUND_MIB, `memory grew by ${(grew.heap + grew.buffers).toFixed(1)} MiB under the flood (bound ${BOUND_MIB} MiB)`)
  // An oversized first message is refused as soon as its length is read, not held until the deadline.
  assert.ok(ends.ended.oversized >= flood.connected * 3 * 0.9, `oversized streams were reset at once (${ends.ended.oversized})`)

  worker.postMessage('stop')
  await once(worker, 'message')
  const after = memory()
  t.diagnostic(`after the strangers left: heap ${after.heap.toFixed(1)} MiB, ArrayBuffers ${after.buffers.toFixed(1)} MiB`)
  const id3 = await b.db.createDocument('Notes', { title: 'after the flood' })
  await eventually(() => a.db.getDocument('Notes', id3).catch(() => undefined), 'and after it')
})
