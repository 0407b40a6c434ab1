/**
 * Ed25519 checks of many signatures at once, on a worker thread. A resync of single edits carries
 * one signature per block (20k for 10k edits a side); node:crypto's callback form puts each on
 * libuv's pool, but hands each over from the event loop on its own (~20–60 µs of the loop per
 * signature here, a fifth of the check itself), and queues them ahead of LevelDB's reads and
 * writes on the same pool. One message per batch to a worker that checks them in a row costs the
 * loop next to nothing and leaves the pool to the database.
 *
 * The workers (one per core, at most two, sharing each large batch) are per process, started on
 * first use and kept only while they have work (they never hold the process open). Their code is
 * inline (no file to resolve, bundled or not). If one cannot start or dies, its share is checked
 * on libuv's pool as before: a check is never skipped.
 */
import { verify as nodeVerify, type KeyObject } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'

const WORKER_CODE = `
const { parentPort } = require('node:worker_threads')
const { verify } = require('node:crypto')
parentPort.on('message', ({ id, keys, items }) => {
  const ok = new Uint8Array(items.length)
  for (let i = 0; i < items.length; i++) {
    const it = items[i]
    try { ok[i] = verify(null, it.d, keys[it.k], it.s) ? 1 : 0 } catch { ok[i] = 0 }
  }
  parentPort.postMessage({ id, ok }, [ok.buffer])
})
`

export interface SignatureCheck {
  key: KeyObject
  data: Uint8Array
  sig: Uint8Array
}

/** Workers: one per core (a batch is split between them), at most two (the event loop needs a core too). */
const POOL = Math.max(1, Math.min(2, availableParallelism()))
/** At most this many checks are done on the event loop, without a worker. */
const INLINE_MAX = 2
/** Checks below this many go to one worker: splitting a small batch costs more than it saves. */
const SPLIT_AT = 64

interface Slot { worker: Worker | null; waiting: Map<number, { resolve: (ok: boolean[]) => void; reject: (err: Error) => void }> }
const slots: Slot[] = Array.from({ length: POOL }, () => ({ worker: null, waiting: new Map() }))
let broken = false
let nextID = 0

function start(slot: Slot): Worker | null {
  if (slot.worker !== null || broken) return slot.worker
  try {
    const w = new Worker(WORKER_CODE, { eval: true })
    const { waiting } = slot
    w.on('message', ({ id, ok }: { id: number; ok: Uint8Array }) => {
      const p = waiting.get(id)
      if (p === undefined) return
      waiting.delete(id)
      if (waiting.size === 0) w.unref()
      p.resolve(Array.from(ok, (x) => x === 1))
    })
    const fail = (err: Error): void => {
      if (slot.worker === w) slot.worker = null
      for (const p of waiting.values()) p.reject(err)
      waiting.clear()
    }
    w.on('error', (err: Error) => { broken = true; fail(err) })
    w.on('exit', (code) => fail(new Error(`the signature worker exited (${code})`)))
    w.unref()
    slot.worker = w
  } catch {
    broken = true
  }
  return slot.worker
}

/** For each check, true when `sig` is the key's Ed25519 signature of `data`. */
export async function verifyMany(checks: readonly SignatureCheck[]): Promise<boolean[]> {
  if (checks.length === 0) return []
  // An edit or two (gossip): checked right here. Handing them to a worker and waiting for its answer
  // took longer than the check itself (~60 µs each) and was on the path of every edit's latency.
  if (checks.length <= INLINE_MAX) return checks.map(({ key, data, sig }) => { try { return nodeVerify(null, data, key, sig) } catch { return false } })
  if (checks.length >= SPLIT_AT && POOL > 1) {
    // Each worker takes a share; a share whose worker fails is checked on libuv's pool (onWorker's fallback).
    const per = Math.ceil(checks.length / POOL)
    const shares = await Promise.all(slots.map((slot, k) => onWorker(slot, checks.slice(k * per, (k + 1) * per))))
    return shares.flat()
  }
  // The least busy worker.
  return onWorker(slots.reduce((a, b) => (b.waiting.size < a.waiting.size ? b : a)), checks)
}

async function onWorker(slot: Slot, checks: readonly SignatureCheck[]): Promise<boolean[]> {
  if (checks.length === 0) return []
  const w = start(slot)
  const { waiting } = slot
  if (w !== null) {
    const keys: KeyObject[] = []
    const index = new Map<KeyObject, number>()
    const items = checks.map(({ key, data, sig }) => {
      let k = index.get(key)
      if (k === undefined) { index.set(key, k = keys.length); keys.push(key) }
      return { k, d: data, s: sig }
    })
    try {
      return await new Promise<boolean[]>((resolve, reject) => {
        const id = nextID++
        waiting.set(id, { resolve, reject })
        w.ref()
        w.postMessage({ id, keys, items })
      })
    } catch {
      // The worker failed (it is restarted next time, unless it cannot start): check here instead.
    }
  }
  return Promise.all(checks.map(({ key, data, sig }) => new Promise<boolean>((resolve) => {
    try {
      nodeVerify(null, data, key, sig, (err, ok) => resolve(err === null && ok))
    } catch {
      resolve(false)
    }
  })))
}

/** Ends the worker (tests; it is unref'd and ends with the process anyway). */
export async function stopVerifyWorker(): Promise<void> {
  await Promise.all(slots.map(async (slot) => {
    const w = slot.worker
    slot.worker = null
    if (w !== null) await w.terminate()
  }))
}
