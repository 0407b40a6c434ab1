/**
 * The physical limits of Tandem's own stack, for bench/compare.ts (one per process, in the same run
 * and rotation as the systems):
 *
 *   node bench/peers/limits.ts --workload classic --n N      classic-level batch() of N documents' JSON
 *   node bench/peers/limits.ts --workload libp2p --n BYTES   one libp2p stream, tcp + noise + yamux
 *   node bench/peers/limits.ts --workload tcp --n BYTES      one plain TCP socket on 127.0.0.1
 *
 *   classic: the same ~200-byte documents as W1, JSON under random 20-character keys, batch() of 1000
 *            puts at a time, on a fresh on-disk database (after an untimed 2000-put warm-up).
 *   libp2p:  two bare libp2p 3 nodes on 127.0.0.1, BYTES in 64 KiB chunks, send() waiting for drain when
 *            it returns false, from the first send to the receiver's last byte (after 16 MiB untimed).
 *   tcp:     net.Socket to a net.Server on 127.0.0.1, BYTES in 64 KiB chunks, write() waiting for
 *            'drain', from the first write to the receiver's last byte (after 16 MiB untimed).
 * Both ends of a stream run in this one process, like the two nodes of W2.
 */
import { randomBytes } from 'node:crypto'
import { createServer, connect, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gc, makeDoc } from '../common.ts'
import { freshDir, main, n, orTimeout } from './child.ts'
import { version } from './version.ts'

const CHUNK = 64 * 1024
const MiB = 1024 * 1024
const LOOPBACK = '/ip4/127.0.0.1/tcp/0'

async function classic(): Promise<Record<string, unknown>> {
  const write = async (count: number): Promise<{ seconds: number; bytes: number }> => {
    const json = Array.from({ length: count }, (_, i) => JSON.stringify(makeDoc(i)))
    const batches: Array<Array<{ type: 'put'; key: string; value: string }>> = []
    for (let i = 0; i < count; i += 1000) batches.push(json.slice(i, i + 1000).map((value) => ({ type: 'put' as const, key: randomBytes(15).toString('base64url'), value })))
    const db = new ClassicLevel<string, string>(join(await freshDir('classic'), 'db'))
    await db.open()
    gc()
    const t0 = performance.now()
    for (const b of batches) await db.batch(b)
    const seconds = (performance.now() - t0) / 1000
    let stored = 0
    for await (const _ of db.keys()) stored++
    await db.close()
    if (stored !== count) throw new Error(`classic-level: ${stored} keys stored, ${count} written`)
    return { seconds, bytes: json.reduce((s, j) => s + Buffer.byteLength(j), 0) }
  }
  await write(2000)
  const r = await write(n)
  return { finished: true, reached: n, seconds: r.seconds, docsPerSec: n / r.seconds, bytesPerSec: r.bytes / r.seconds }
}

async function libp2pStream(): Promise<Record<string, unknown>> {
  const host = async () => createLibp2p({ addresses: { listen: [LOOPBACK] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
  const receiver = await host()
  const sender = await host()
  try {
    let got = 0
    let target = 0
    let resolve: () => void = () => {}
    await receiver.handle('/tandem-bench/raw/1.0.0', (stream) => {
      stream.addEventListener('message', (evt) => { got += evt.data.byteLength; if (got >= target) resolve() })
    })
    const stream = await sender.dialProtocol(receiver.getMultiaddrs()[0]!, '/tandem-bench/raw/1.0.0', { signal: AbortSignal.timeout(10_000) })
    const chunk = randomBytes(CHUNK)
    const send = async (bytes: number): Promise<number> => {
      const all = new Promise<void>((r) => { resolve = r })
      target = got + bytes
      const t0 = performance.now()
      for (let sent = 0; sent < bytes; sent += CHUNK) if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(60_000) })
      if (await orTimeout(all.then(() => true), performance.now() + 60_000) === undefined) throw new Error('libp2p stream: timed out')
      return (performance.now() - t0) / 1000
    }
    await send(16 * MiB) // untimed warm-up
    gc()
    const seconds = await send(n)
    return { finished: true, reached: n, seconds, bytesPerSec: n / seconds, mibPerSec: n / MiB / seconds }
  } finally {
    await sender.stop()
    await receiver.stop()
  }
}

async function tcpSocket(): Promise<Record<string, unknown>> {
  let got = 0
  let target = 0
  let resolve: () => void = () => {}
  const server = createServer((s) => s.on('data', (d: Buffer) => { got += d.length; if (got >= target) resolve() }))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const sock = connect((server.address() as AddressInfo).port, '127.0.0.1')
  await new Promise<void>((r) => sock.once('connect', () => r()))
  try {
    const chunk = randomBytes(CHUNK)
    const send = async (bytes: number): Promise<number> => {
      const all = new Promise<void>((r) => { resolve = r })
      target = got + bytes
      const t0 = performance.now()
      for (let sent = 0; sent < bytes; sent += CHUNK) if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r))
      await all
      return (performance.now() - t0) / 1000
    }
    await send(16 * MiB) // untimed warm-up
    gc()
    const seconds = await send(n)
    return { finished: true, reached: n, seconds, bytesPerSec: n / seconds, mibPerSec: n / MiB / seconds }
  } finally {
    sock.destroy()
    server.close()
  }
}

await main('limits', { classic, libp2p: libp2pStream, tcp: tcpSocket }, { 'classic-level': version('classic-level'), libp2p: version('libp2p') })
