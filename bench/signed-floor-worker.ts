/**
 * The second thread of the signed block floor on two threads (bench/signed-floor-threads.ts): it
 * builds the signed floor's pairs for its share of a call's documents (block-floor.ts
 * `signedFloorOps`, the very code the one-thread floor runs) and hands them back packed into two
 * buffers that move without a copy: each pair's key and value lengths, then their bytes in order.
 * For the floor of Tandem's format it builds the format floor's pairs instead (format-floor.ts
 * `formatFloorOps`) and sends its digest entries too.
 */
import { parentPort } from 'node:worker_threads'
import { signedFloorOps, type FloorSigner, type Op } from './block-floor.ts'
import type { Doc } from './common.ts'
import { formatFloorOps, type FormatContext } from './format-floor.ts'

/** A call's share: the signed floor's pairs (`pointers` as `signedFloorOps`), or with `format` the format floor's (format-floor.ts). */
export type Request = { signer: FloorSigner } | { id: number; docs: Doc[]; ids: string[]; pointers: boolean; format?: FormatContext }
/** `delta`: the format floor's digest entries of the share, XORed by bucket. */
export interface Reply { id: number; lengths: Uint32Array; bytes: Uint8Array; delta?: Uint8Array }

let signer: FloorSigner | null = null
const port = parentPort!

port.on('message', (msg: Request) => {
  if ('signer' in msg) {
    signer = msg.signer // its KeyObject arrives as a KeyObject
    return
  }
  if (signer === null) throw new Error('signed floor worker: no signer yet')
  let ops: Op[]
  let delta: Uint8Array | undefined
  if (msg.format === undefined) ops = signedFloorOps(msg.docs, msg.ids, signer, msg.pointers)
  else ({ ops, delta } = formatFloorOps(msg.docs, msg.ids, signer, msg.format))
  const lengths = new Uint32Array(2 * ops.length)
  let total = 0
  for (let i = 0; i < ops.length; i++) {
    const { key, value } = ops[i]!
    lengths[2 * i] = key.length
    lengths[2 * i + 1] = value.length
    total += key.length + value.length
  }
  const bytes = new Uint8Array(total)
  let at = 0
  for (const { key, value } of ops) {
    bytes.set(key, at)
    at += key.length
    bytes.set(value, at)
    at += value.length
  }
  const reply: Reply = { id: msg.id, lengths, bytes }
  const moved: ArrayBuffer[] = [lengths.buffer, bytes.buffer]
  if (delta !== undefined) {
    reply.delta = delta
    moved.push(delta.buffer as ArrayBuffer)
  }
  port.postMessage(reply, moved)
})
