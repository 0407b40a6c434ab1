/** Raw streams for wire fuzzing: send arbitrary bytes on a protocol and see how the server ends it. */
import * as dagCbor from '@ipld/dag-cbor'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import type { Stream } from '@libp2p/interface'
import v8 from 'node:v8'
import vm from 'node:vm'

export type Ending = 'closed' | 'reset' | 'refused' | 'timeout'

export interface Exchange { ending: Ending; received: number; ms: number }

/** Varint length prefix (unsigned LEB128), as lpStream writes it. */
export function varint(n: number): Uint8Array {
  const out: number[] = []
  let x = n
  while (x >= 0x80) { out.push((x % 0x80) | 0x80); x = Math.floor(x / 0x80) }
  out.push(x)
  return new Uint8Array(out)
}

export function lp(body: Uint8Array): Uint8Array {
  const p = varint(body.length)
  const out = new Uint8Array(p.length + body.length)
  out.set(p, 0)
  out.set(body, p.length)
  return out
}

export function frame(value: unknown): Uint8Array {
  return lp(dagCbor.encode(value))
}

/**
 * Opens `protocol` from `from` to `to`, sends `bytes` raw, closes the writing side when `closeWrite`,
 * and waits up to `waitMs` for the server to end the stream (close its side, or reset).
 */
export async function exchange(from: TandemNode, to: TandemNode, protocol: string, bytes: Uint8Array[], options: { closeWrite?: boolean; waitMs?: number } = {}): Promise<Exchange> {
  const started = performance.now()
  let stream: Stream
  try {
    stream = await from.host!.dialProtocol(to.host!.peerId, protocol, { signal: AbortSignal.timeout(10_000) })
  } catch {
    return { ending: 'refused', received: 0, ms: performance.now() - started }
  }
  return endOf(stream, bytes, options, started)
}

export async function endOf(stream: Stream, bytes: Uint8Array[], options: { closeWrite?: boolean; waitMs?: number }, started = performance.now()): Promise<Exchange> {
  let received = 0
  let settle: (e: Ending) => void = () => {}
  const ended = new Promise<Ending>((resolve) => { settle = resolve })
  stream.addEventListener('message', (evt) => { received += evt.data.byteLength })
  stream.addEventListener('remoteCloseWrite', () => settle('closed'))
  stream.addEventListener('close', (evt) => settle(evt.error !== undefined ? 'reset' : 'closed'))
  if (stream.status !== 'open') settle('reset')
  try {
    for (const b of bytes) {
      if (!stream.send(b)) await stream.onDrain({ signal: AbortSignal.timeout(5000) })
    }
    if (options.closeWrite !== false) await stream.close({ signal: AbortSignal.timeout(5000) })
  } catch {
    settle('reset')
  }
  let timer: NodeJS.Timeout | undefined
  const ending = await Promise.race([ended, new Promise<Ending>((r) => { timer = setTimeout(() => r('timeout'), options.waitMs ?? 10_000) })])
  clearTimeout(timer)
  stream.abort(new Error('done'))
  return { ending, received, ms: performance.now() - started }
}

let gcFn: (() => void) | undefined
/** Heap in use after a full GC, in MiB. */
export function heapMiB(): number {
  if (gcFn === undefined) {
    v8.setFlagsFromString('--expose_gc')
    gcFn = vm.runInNewContext('gc') as () => void
  }
  gcFn()
  gcFn()
  return process.memoryUsage().heapUsed / 1024 / 1024
}
