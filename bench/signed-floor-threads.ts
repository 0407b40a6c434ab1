/**
 * The signed block floor on two threads (bench/run.ts): the same pairs as the one-thread signed floor
 * (block-floor.ts `signedFloorOps`), byte for byte, with each call's building shared between the
 * event loop and a worker thread, then written as one atomic `batch()`, acknowledged before the next
 * call starts, as W1 is timed.
 *
 * It replaces the signed floor's *bound* (build ÷ cores + write: the building spread over both cores
 * for free) by a run that pays what sharing costs: the worker's share of the documents is copied to
 * it (structured clone: a caller hands Tandem documents as objects on the event loop), and its pairs
 * come back packed in two transferred buffers, read into views. Calls are cut at chunk boundaries
 * (one signature per SIGNED_CHUNK blocks), so both threads sign whole chunks and the pairs are the
 * one-thread floor's. The floor of Tandem's format (format-floor.ts) is shared the same way: each
 * thread checks its documents and builds their blocks, records and digest entries, which the event
 * loop merges.
 */
import { Worker } from 'node:worker_threads'
import type { ClassicLevel } from 'classic-level'
import { SIGNED_CHUNK, signedFloorOps, type FloorSigner, type Op } from './block-floor.ts'
import type { Doc } from './common.ts'
import { formatFloorOps, xorInto, type FormatCall, type FormatContext } from './format-floor.ts'
import type { Reply, Request } from './signed-floor-worker.ts'

/**
 * The worker's share of a call's chunks. The event loop also copies the worker's documents out and
 * reads its pairs back in, and the worker packs them (~0.5 µs a document of its share): in single
 * runs here, 0.5 and 0.6 built a call fastest, 0.45 and 0.7 slower.
 */
export const WORKER_SHARE = 0.5

export class TwoThreadSignedFloor {
  readonly #worker: Worker
  readonly #signer: FloorSigner
  readonly #waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>()
  #next = 0
  /** Why the worker stopped, once it has: later calls fail at once instead of waiting for it. */
  #failed: Error | null = null

  constructor(signer: FloorSigner) {
    this.#signer = signer
    this.#worker = new Worker(new URL('./signed-floor-worker.ts', import.meta.url))
    this.#worker.on('message', (r: Reply) => {
      const w = this.#waiting.get(r.id)
      this.#waiting.delete(r.id)
      w?.resolve(r)
    })
    const fail = (err: Error): void => {
      this.#failed ??= err
      for (const w of this.#waiting.values()) w.reject(err)
      this.#waiting.clear()
    }
    this.#worker.on('error', fail)
    this.#worker.on('exit', (code) => fail(new Error(`the signed floor's worker exited (${code})`)))
    this.#post({ signer })
  }

  #post(msg: Request): void {
    this.#worker.postMessage(msg)
  }

  /** The signed floor's pairs of one call, built on both threads, in the one-thread floor's order (`pointers`: as `signedFloorOps`). */
  async ops(docs: readonly Doc[], ids: readonly string[], pointers = true): Promise<Op[]> {
    const cut = this.#cut(docs.length)
    const reply = this.#ask({ id: this.#next++, docs: docs.slice(0, cut), ids: ids.slice(0, cut), pointers })
    const mine = signedFloorOps(docs.slice(cut), ids.slice(cut), this.#signer, pointers)
    const theirs = unpack(await reply)
    for (const op of mine) theirs.push(op)
    return theirs
  }

  /** The format floor's pairs of one call (format-floor.ts `formatFloorOps`), built on both threads, its digest entries merged. */
  async formatOps(docs: readonly Doc[], ids: readonly string[], format: FormatContext): Promise<FormatCall> {
    const cut = this.#cut(docs.length)
    const reply = this.#ask({ id: this.#next++, docs: docs.slice(0, cut), ids: ids.slice(0, cut), pointers: false, format })
    const mine = formatFloorOps(docs.slice(cut), ids.slice(cut), this.#signer, format)
    const r = await reply
    const ops = unpack(r)
    for (const op of mine.ops) ops.push(op)
    return { ops, delta: xorInto(mine.delta, r.delta!) }
  }

  /** Where a call of `n` documents is cut: the worker's share, whole chunks. */
  #cut(n: number): number {
    return Math.min(n, Math.round(Math.ceil(n / SIGNED_CHUNK) * WORKER_SHARE) * SIGNED_CHUNK)
  }

  #ask(msg: Request & { id: number }): Promise<Reply> {
    if (this.#failed !== null) return Promise.reject(this.#failed)
    const reply = new Promise<Reply>((resolve, reject) => this.#waiting.set(msg.id, { resolve, reject }))
    this.#post(msg)
    return reply
  }

  /** Builds and writes each call's pairs, one call after another (timed as the one-thread floor is). */
  async bulk(db: ClassicLevel<Uint8Array, Uint8Array>, batches: readonly Doc[][], ids: readonly string[][]): Promise<void> {
    for (let i = 0; i < batches.length; i++) await db.batch(await this.ops(batches[i]!, ids[i]!))
  }

  async close(): Promise<void> {
    await this.#worker.terminate()
  }
}

/** The worker's pairs as views of the buffers it sent. */
function unpack({ lengths, bytes }: Reply): Op[] {
  const ops = new Array<Op>(lengths.length / 2)
  let at = 0
  for (let i = 0; i < ops.length; i++) {
    const key = bytes.subarray(at, at += lengths[2 * i]!)
    const value = bytes.subarray(at, at += lengths[2 * i + 1]!)
    ops[i] = { type: 'put', key, value }
  }
  return ops
}
