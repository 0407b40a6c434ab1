/**
 * A worker thread of strangers, for flood tests: `count` bare libp2p hosts (TCP + Noise + Yamux,
 * no services), each with its own peer ID and dialling from its own loopback source address
 * (127.0.0.2, 127.0.0.3, …: traffic still goes to 127.0.0.1 only, and libp2p's per-IP rate limit
 * does not turn a flood from many machines into a trickle from one). Each connects to `target`
 * (retrying while the node refuses, as an attacker would), then opens the streams of `plan`:
 *
 * - `oversized`: a length prefix of `declaredBytes` (within the old 1 MiB cap), then `sentBytes` of
 *   the message, then nothing more — held open;
 * - `slow`: a length prefix of 3000 bytes (under any cap), then one byte a second.
 *
 * In its own thread, so that the node's heap is measured alone. Posts `{ type: 'ready', … }` once
 * every host has connected and opened its streams (or gave up at `deadlineMs`); on `'report'`
 * posts how the streams ended so far; on `'stop'` stops every host and posts `'stopped'`.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp, type TCPSocketOptions } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'

export interface StrangersInit {
  target: string
  count: number
  plan: Array<{ protocol: string; kind: 'oversized' | 'slow' }>
  declaredBytes: number
  sentBytes: number
  deadlineMs: number
}

export interface StrangersReport {
  type: 'ready' | 'report'
  connected: number
  /** Dial attempts the node refused or dropped before a connection stood. */
  refusals: number
  opened: number
  /** Streams the node reset or closed so far, by kind. */
  ended: Record<'oversized' | 'slow', number>
  ms: number
}

const init = workerData as StrangersInit
const started = performance.now()
const hosts: Libp2p[] = []
const slow: Stream[] = []
const ended = { oversized: 0, slow: 0 }
let connected = 0
let refusals = 0
let opened = 0

function varint(n: number): Uint8Array {
  const out: number[] = []
  let x = n
  while (x >= 0x80) { out.push((x % 0x80) | 0x80); x = Math.floor(x / 0x80) }
  out.push(x)
  return new Uint8Array(out)
}

const junk = new Uint8Array(64 * 1024).fill(0x61)

async function send(stream: Stream, bytes: Uint8Array): Promise<void> {
  if (stream.status !== 'open') return
  if (!stream.send(bytes)) await stream.onDrain({ signal: AbortSignal.timeout(10_000) })
}

async function stranger(i: number): Promise<void> {
  const host = await createLibp2p({
    // dialOpts reach net.connect() as they are (a source address is not in their type).
    transports: [tcp({ dialOpts: { localAddress: `127.0.0.${2 + (i % 250)}` } as TCPSocketOptions })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  })
  hosts.push(host)
  const target = multiaddr(init.target)
  const end = started + init.deadlineMs
  for (;;) {
    try {
      await host.dial(target, { signal: AbortSignal.timeout(5_000) })
      break
    } catch {
      refusals++
      if (performance.now() > end) return
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200))
    }
  }
  connected++
  await Promise.all(init.plan.map(async ({ protocol, kind }) => {
    let stream: Stream
    try {
      stream = await host.dialProtocol(target, protocol, { signal: AbortSignal.timeout(10_000) })
    } catch {
      return
    }
    opened++
    stream.addEventListener('close', () => { ended[kind]++ })
    try {
      if (kind === 'slow') {
        await send(stream, Uint8Array.of(...varint(3000), 0x61))
        slow.push(stream)
        return
      }
      await send(stream, varint(init.declaredBytes))
      for (let sent = 0; sent < init.sentBytes && stream.status === 'open'; sent += junk.length) {
        await send(stream, junk.subarray(0, Math.min(junk.length, init.sentBytes - sent)))
      }
    } catch {
      // reset by the node: counted by the close listener
    }
  }))
}

const drip = setInterval(() => {
  for (const s of slow) if (s.status === 'open') s.send(Uint8Array.of(0x61))
}, 1000)

const report = (type: StrangersReport['type']): StrangersReport => ({ type, connected, refusals, opened, ended: { ...ended }, ms: Math.round(performance.now() - started) })

await Promise.all(Array.from({ length: init.count }, (_, i) => stranger(i)))
parentPort!.postMessage(report('ready'))
parentPort!.on('message', (msg: string) => {
  if (msg === 'report') parentPort!.postMessage(report('report'))
  if (msg === 'stop') {
    clearInterval(drip)
    void Promise.all(hosts.map(async (h) => { try { await h.stop() } catch { /* gone already */ } })).then(() => parentPort!.postMessage('stopped'))
  }
})
