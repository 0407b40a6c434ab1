/**
 * What every child of bench/compare.ts shares: its options, a time cap per workload, percentiles, fresh
 * directories removed at exit, and the one JSON line it prints.
 *
 *   node bench/peers/<system>.ts --workload w1|w2|w3|w4|w5|w6 --n N [--edits E] [--shared S] [--cap SECONDS] [--devices LIST]
 *
 * A workload that reaches its cap stops and reports how far it got ({ finished: false, reached }): the
 * table says "did not finish in X min (reached k)" rather than the peer being tuned down.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { gc } from '../common.ts'

const { values } = parseArgs({
  options: {
    workload: { type: 'string', default: 'w1' }, n: { type: 'string', default: '1000' }, edits: { type: 'string', default: '1000' },
    shared: { type: 'string', default: '1000' }, cap: { type: 'string', default: '600' }, dir: { type: 'string' },
    devices: { type: 'string' },
  },
  strict: true,
})
export const workload = values.workload!
export const n = Number(values.n)
export const edits = Number(values.edits)
export const shared = Number(values.shared)
/** The workload's time cap in milliseconds, from its first timed step. */
export const capMs = Number(values.cap) * 1000
export const dirArg = values.dir
/** W6's group sizes (bench/group.ts --devices), when not all of 2,3,4,5. */
export const devicesArg = values.devices
for (const [k, v] of Object.entries({ n, edits, shared, capMs })) {
  if (!Number.isFinite(v) || v < 0) { console.error(`bad --${k}`); process.exit(2) }
}

const dirs: string[] = []
export async function freshDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `tandem-bench-${prefix}-`))
  dirs.push(d)
  return d
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

/**
 * W3's timed loop, the same for every system: 20 untimed warm-up edits, then `edits` edits one at a
 * time until the cap; `edit(i, until)` returns the milliseconds edit i took to show on B, or
 * undefined when it did not by `until`.
 */
export async function timeEdits(edit: (i: number, untilMs: number) => Promise<number | undefined>): Promise<{ finished: boolean; reached: number; edits: number; p50: number; p99: number; max: number }> {
  for (let i = 0; i < 20; i++) await edit(i, performance.now() + 10_000)
  gc()
  const latencies: number[] = []
  const end = performance.now() + capMs
  for (let i = 0; i < edits; i++) {
    const ms = await edit(20 + i, Math.min(end, performance.now() + 10_000))
    if (ms === undefined) break
    latencies.push(ms)
    if (performance.now() > end) break
  }
  return { finished: latencies.length === edits, reached: latencies.length, edits, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies) }
}

/** Polls `check` until true or `untilMs` (a performance.now() time) passes; returns whether it became true. */
export async function pollUntil(check: () => Promise<boolean> | boolean, untilMs: number, everyMs = 20): Promise<boolean> {
  for (;;) {
    if (await check()) return true
    if (performance.now() > untilMs) return false
    await sleep(everyMs)
  }
}

/** Resolves with `p`'s value, or with `undefined` once `untilMs` passes. */
export function orTimeout<T>(p: Promise<T>, untilMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), Math.max(0, untilMs - performance.now())) })
  return Promise.race([p, t]).finally(() => clearTimeout(timer))
}

/** Runs the workload, prints its one JSON line, removes the directories, exits. */
export async function main(system: string, run: Record<string, () => Promise<Record<string, unknown>>>, versions: Record<string, string> = {}): Promise<never> {
  const fn = run[workload]
  let code = 0
  try {
    if (fn === undefined) throw new Error(`${system} has no workload ${workload}`)
    const out = await fn()
    process.stdout.write(`${JSON.stringify({ system, workload, n, versions, ...out })}\n`)
  } catch (err) {
    console.error(`${system} ${workload}: ${(err as Error).stack ?? String(err)}`)
    code = 1
  } finally {
    // Twice: automerge-repo's storage can still write a debounced save after shutdown, recreating a directory.
    for (const d of dirs) await rm(d, { recursive: true, force: true }).catch(() => {})
    await sleep(500)
    for (const d of dirs) await rm(d, { recursive: true, force: true }).catch(() => {})
  }
  process.exit(code)
}
