/**
 * Tandem against automerge-repo, OrbitDB and the physical limits of its own stack, pair by pair in one
 * run (README "Performance"): W1 local writes, W2 replication A→B, W3 one-edit latency, W4 partition and resync,
 * W5 one collection at scale, W6 a group of five devices (Tandem only: bench/group.ts); limits: raw
 * classic-level batch(), one raw libp2p stream, plain TCP.
 *
 *   node bench/compare.ts [--quick] [--n N,N] [--runs R] [--only LIST] [--workloads LIST] [--cap MIN] [--w5 N] [--w6 N]
 *
 * Every (workload, system) pair runs in its own child process (bench/peers/<system>.ts), R times; within
 * a run the order of the systems rotates. Each child has a time cap for its timed part and, past it,
 * reports how far it got: the table says "did not finish" instead of the peer being tuned down.
 * Ratios are computed within each run (Tandem and the other side measured minutes apart on the same
 * machine), then their median is shown. Results: bench/results/compare.json and one SVG chart per
 * workload, bench/results/w1.svg … w6.svg. See bench/README.md, "Peers".
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, platform, arch, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { spawnSync } from 'node:child_process'
import { fmt, median, table } from './common.ts'
import { chart, COLORS, type Bar, type Panel } from './svg.ts'

const SYSTEMS = ['tandem', 'automerge', 'orbitdb', 'limits'] as const
type System = (typeof SYSTEMS)[number]
const NAMES: Record<System, string> = { tandem: 'Tandem', automerge: 'automerge-repo', orbitdb: 'OrbitDB', limits: 'limit' }
const PEERS = ['automerge', 'orbitdb'] as const
const WORKLOADS = ['w1', 'w2', 'w3', 'w4', 'w5', 'w6'] as const
type Workload = (typeof WORKLOADS)[number]
const MiB = 1024 * 1024
// Issue 20's goals. W2's other goal, 0.85 of the whole-store copy, is judged by bench/sync.ts (the
// copy limit is measured there); the raw libp2p stream is shown here as information (its 0.30 goal
// was retired: no replication that leaves the receiver with a store reaches it on this machine).
const GOALS = { w1VsClassic: 0.25, w2VsOrbitdb: 100, w3P50Ms: 2, w3P99Ms: 7, w4Seconds: 3, w4Edits: 10_000, w5RssMB: 400, w5N: 1_000_000, w6P99Factor: 2, w6CatchupRatio: 1, w6N: 100_000 }
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
const USAGE = `usage: node bench/compare.ts [--quick] [--n LIST] [--runs R] [--only LIST] [--workloads LIST] [--cap MIN] [--w5 N] [--w6 N]
  --quick          W1/W2 N = 1000, W3 and W6 100 edits, W4 100 edits a side on 50 shared docs, W5 20k docs,
                   W6 2k docs and only 2 and 5 devices,
                   raw streams 64 MiB, cap 0.5 min, R = 1 (a smoke run)
  --n LIST         W1/W2 sizes, comma-separated (default 10000,100000)
  --runs R         runs (default 3); medians are reported
  --only LIST      systems, from ${SYSTEMS.join(',')} (ratios need tandem)
  --workloads LIST workloads, from ${WORKLOADS.join(',')}
  --cap MIN        time cap of each system's timed part in each workload, minutes (default 5)
  --w5 N           W5 collection size (default 1000000)
  --w6 N           W6 documents a fresh device catches up on (default 100000)`

let values
try {
  values = parseArgs({
    options: {
      quick: { type: 'boolean', default: false }, n: { type: 'string' }, runs: { type: 'string' }, only: { type: 'string' },
      workloads: { type: 'string' }, cap: { type: 'string' }, w5: { type: 'string' }, w6: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`)
  process.exit(2)
}
if (values.help) { console.log(USAGE); process.exit(0) }
const quick = values.quick === true
const positive = (flag: string, raw: string, int = true): number => {
  const v = Number(raw)
  if (!(int ? Number.isSafeInteger(v) : Number.isFinite(v)) || v <= 0) { console.error(`--${flag} takes a positive number, not "${raw}"\n${USAGE}`); process.exit(2) }
  return v
}
const list = <T extends string>(flag: string, raw: string | undefined, all: readonly T[]): T[] => {
  const xs = (raw ?? all.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const s of xs) if (!(all as readonly string[]).includes(s)) { console.error(`--${flag}: unknown ${s}\n${USAGE}`); process.exit(2) }
  return all.filter((s) => xs.includes(s))
}
const sizes = values.n === undefined ? (quick ? [1000] : [10_000, 100_000]) : values.n.split(',').map((x) => positive('n', x))
const runs = values.runs === undefined ? (quick ? 1 : 3) : positive('runs', values.runs)
const systems = list('only', values.only, SYSTEMS).filter((s) => {
  // The peers are dependencies of bench/ alone: without them installed they are left out, said so.
  const pkg = s === 'automerge' ? '@automerge/automerge-repo' : s === 'orbitdb' ? '@orbitdb/core' : undefined
  if (pkg === undefined || existsSync(fileURLToPath(new URL(`./node_modules/${pkg}/package.json`, import.meta.url)))) return true
  console.error(`${s}: ${pkg} is not installed in bench/node_modules; run (cd bench && npm install) to include it`)
  return false
})
const workloads = list('workloads', values.workloads, WORKLOADS)
const capMin = values.cap === undefined ? (quick ? 0.5 : 5) : positive('cap', values.cap, false)
const w5N = values.w5 === undefined ? (quick ? 20_000 : GOALS.w5N) : positive('w5', values.w5)
const w6N = values.w6 === undefined ? (quick ? 2_000 : GOALS.w6N) : positive('w6', values.w6)
const W3_EDITS = quick ? 100 : 1000
const W4_EDITS = quick ? 100 : GOALS.w4Edits
const W4_SHARED = quick ? 50 : 1000
const RAW_BYTES = (quick ? 64 : 256) * MiB

const log = (s: string): void => { process.stderr.write(`${s}\n`) }

// ---- running the children ----

type Out = Record<string, any> & { finished: boolean; reached: number }
interface Sample { workload: Workload; system: System; variant: string; size: number; run: number; out: Out }
const samples: Sample[] = []
const failures: Array<{ workload: Workload; system: System; variant: string; size: number; run: number; error: string }> = []

function child(workload: Workload, system: System, variant: string, size: number, run: number): void {
  const script = fileURLToPath(new URL(`./peers/${system}.ts`, import.meta.url))
  const args = [script, '--workload', variant, '--n', String(size), '--edits', String(workload === 'w3' || workload === 'w6' ? W3_EDITS : W4_EDITS), '--shared', String(W4_SHARED), '--cap', String(capMin * 60),
    // The smoke measures W6's goal pair alone (2 and 5 devices): each group size costs seconds of set-up.
    ...(workload === 'w6' && quick ? ['--devices', '2,5'] : [])]
  // The cap bounds the timed part; set-up (W2's N documents on A, W4's offline edits, W5's build) and
  // start-up get as long again plus 2 minutes (W5 at 1M: its build, 20 minutes; W6: a whole run of
  // bench/group.ts, whose own waits are each bounded, up to 45 minutes) before the child is killed.
  const timeout = (workload === 'w5' ? 20 * 60_000 : workload === 'w6' ? 45 * 60_000 : 0) + 2 * capMin * 60_000 + 120_000
  log(`  ${NAMES[system]}${system === 'limits' ? ` (${variant})` : ''}…`)
  const t0 = performance.now()
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 })
  const line = r.stdout?.trim().split('\n').pop() ?? ''
  if (r.status !== 0 || !line.startsWith('{')) {
    const why = r.error?.message ?? (r.signal !== null ? `killed by ${r.signal} after ${fmt((performance.now() - t0) / 1000)} s` : `exit ${r.status}`)
    const error = `${why}: ${(r.stderr ?? '').trim().split('\n').filter((l) => !l.startsWith('    at ')).slice(-4).join(' | ')}`
    log(`    failed: ${error}`)
    failures.push({ workload, system, variant, size, run, error })
    return
  }
  const out = JSON.parse(line) as Out
  samples.push({ workload, system, variant, size, run, out })
  log(`    ${summary(workload, out)} (${fmt((performance.now() - t0) / 1000)} s with set-up)`)
}

function summary(w: Workload, o: Out): string {
  const tail = o.finished ? '' : ` — did not finish in ${capMin} min (${o.note ?? `reached ${fmt(o.reached)}`})`
  if (!o.finished && o.note !== undefined) return tail.slice(3) // its set-up did not finish: no figure
  if (o.mibPerSec !== undefined) return `${fmt(o.mibPerSec)} MiB/s`
  if (w === 'w1' || w === 'w2') return `${fmt(o.docsPerSec)} docs/s${tail}`
  if (w === 'w3') return `p50 ${fmt(o.p50, 1)} ms, p99 ${fmt(o.p99, 1)} ms${tail}`
  if (w === 'w4') return `${fmt(o.seconds, 2)} s (offline edits ${fmt(o.editSeconds, 1)} s)${tail}`
  if (w === 'w6') {
    const e = (d: number): Record<string, number> | undefined => (o.edit as Array<Record<string, number>>).find((x) => x.devices === d)
    const c = (k: number): Record<string, number> | undefined => (o.catchup as Array<Record<string, number>>).find((x) => x.holders === k)
    return `p99 ${fmt(e(2)?.p99 ?? NaN, 1)} ms (2 devices) → ${fmt(e(5)?.p99 ?? NaN, 1)} ms (5); catch-up ${fmt(c(1)?.docsPerSec ?? NaN)} docs/s from 1 → ${fmt(c(4)?.docsPerSec ?? NaN)} from 4`
  }
  return `open ${fmt(o.openMs)} ms, first page ${fmt(o.firstPageMs, 1)} ms, RSS ${fmt(o.rssMB)} MB, ${o.topics} topics`
}

const rotate = <T>(xs: T[], r: number): T[] => xs.map((_, i) => xs[(i + r) % xs.length]!)
const has = (s: System): boolean => systems.includes(s)

for (let r = 0; r < runs; r++) {
  for (const w of workloads) {
    const plan: Array<[System, string, number]> = []
    if (w === 'w1' || w === 'w2') {
      for (const size of sizes) {
        const row: Array<[System, string, number]> = [...(['tandem', 'automerge', 'orbitdb'] as const).filter(has).map((s): [System, string, number] => [s, w, size])]
        if (has('limits')) row.push(w === 'w1' ? ['limits', 'classic', size] : ['limits', 'libp2p', RAW_BYTES])
        if (has('limits') && w === 'w2' && size === sizes[0]) row.push(['limits', 'tcp', RAW_BYTES])
        plan.push(...rotate(row, r))
      }
    } else if (w === 'w5') {
      if (has('tandem')) plan.push(['tandem', 'w5', w5N])
    } else if (w === 'w6') {
      if (has('tandem')) plan.push(['tandem', 'w6', w6N])
    } else {
      plan.push(...rotate((['tandem', 'automerge', 'orbitdb'] as const).filter(has).map((s): [System, string, number] => [s, w, w === 'w3' ? W3_EDITS : W4_EDITS]), r))
    }
    if (plan.length === 0) continue
    log(`run ${r + 1}/${runs}: ${w.toUpperCase()}${w === 'w1' || w === 'w2' ? ` (${sizes.map((s) => fmt(s)).join(', ')} docs)` : ''}`)
    for (const [system, variant, size] of plan) child(w, system, variant, size, r)
  }
}

// ---- medians and ratios, within each run ----

const pick = (w: Workload, system: System, variant: string, size?: number): Sample[] =>
  samples.filter((s) => s.workload === w && s.system === system && s.variant === variant && (size === undefined || s.size === size))
interface Cell { value?: number; dnf?: { reached: number; of: number; note?: string }; runs: number }
/** The median of a figure over the runs that finished; "did not finish" when any run did not. */
function cellOf(xs: Sample[], f: (o: Out) => number, of: number): Cell {
  if (xs.length === 0) return { runs: 0 }
  const dnf = xs.filter((s) => !s.out.finished)
  if (dnf.length > 0) {
    const note = dnf.map((s) => s.out.note as string | undefined).find((x) => x !== undefined)
    const finite = dnf.map((s) => f(s.out)).filter((v) => Number.isFinite(v) && v > 0)
    return { dnf: { reached: median(dnf.map((s) => s.out.reached)), of, ...(note !== undefined ? { note } : {}) }, runs: xs.length, ...(finite.length > 0 ? { value: median(finite) } : {}) }
  }
  return { value: median(xs.map((s) => f(s.out))), runs: xs.length }
}
/** Median over runs of (Tandem's figure ÷ the other's), both from the same run; `invert` for times (other ÷ Tandem). */
function ratioOf(t: Sample[], o: Sample[], f: (o: Out) => number, g: (o: Out) => number = f, invert = false): number | undefined {
  const xs: number[] = []
  for (const a of t) {
    const b = o.find((s) => s.run === a.run)
    if (b === undefined || !a.out.finished) continue
    const x = f(a.out)
    const y = g(b.out)
    if (!Number.isFinite(x) || !Number.isFinite(y) || x <= 0 || y <= 0) continue
    xs.push(invert ? y / x : x / y) // a peer that did not finish gives a lower bound on Tandem's lead
  }
  return xs.length === 0 ? undefined : median(xs)
}

const docsPerSec = (o: Out): number => o.docsPerSec
const capText = `${capMin} min`
const fmtCell = (c: Cell, unit: (v: number) => string, what = 'docs'): string => {
  if (c.runs === 0) return '-'
  if (c.dnf !== undefined) return `did not finish in ${capText} (${c.dnf.note ?? `reached ${fmt(c.dnf.reached)} of ${fmt(c.dnf.of)} ${what}${c.value !== undefined ? `; ${unit(c.value)} until then` : ''}`})`
  return unit(c.value!)
}
const perSec = (v: number): string => `${fmt(v)} docs/s`
const times = (x: number | undefined): string => (x === undefined ? '-' : `${x < 10 ? x.toFixed(2) : x.toFixed(1)}×`)
const verdict = (pass: boolean | undefined): string => (pass === undefined ? '-' : pass ? 'pass' : 'MISS')
const unavailable = (s: System): string => (has(s) ? 'failed' : 'not run')
const orFailed = (c: Cell, s: System, text: string): string => (c.runs === 0 ? unavailable(s) : text)

const rows: string[][] = [['workload', 'Tandem', 'automerge-repo', 'OrbitDB', 'limit', 'T÷automerge', 'T÷OrbitDB', 'T÷limit', 'goal', 'result']]
const results: Record<string, unknown> = {}
const charts: Record<string, Panel[]> = { w1: [], w2: [], w3: [], w4: [], w5: [], w6: [] }
const bar = (label: string, c: Cell, color: string, text: string): Bar => ({ label, value: c.value, text: c.runs === 0 ? 'no result (failed or not run)' : text, color, ...(c.dnf ? { dnf: true } : {}) })

for (const size of workloads.includes('w1') ? sizes : []) {
  const t = pick('w1', 'tandem', 'w1', size)
  const cells = { tandem: cellOf(t, docsPerSec, size), automerge: cellOf(pick('w1', 'automerge', 'w1', size), docsPerSec, size), orbitdb: cellOf(pick('w1', 'orbitdb', 'w1', size), docsPerSec, size), classic: cellOf(pick('w1', 'limits', 'classic', size), docsPerSec, size) }
  const single = cellOf(t, (o) => o.single.docsPerSec, size)
  const ratios = {
    automerge: ratioOf(t, pick('w1', 'automerge', 'w1', size), docsPerSec),
    orbitdb: ratioOf(t, pick('w1', 'orbitdb', 'w1', size), docsPerSec),
    classic: ratioOf(t, pick('w1', 'limits', 'classic', size), docsPerSec),
    singleVsOrbitdb: ratioOf(t, pick('w1', 'orbitdb', 'w1', size), (o) => o.single.docsPerSec, docsPerSec),
  }
  const pass = ratios.classic === undefined ? undefined : ratios.classic >= GOALS.w1VsClassic
  rows.push([`W1 local writes, ${fmt(size)} docs`, orFailed(cells.tandem, 'tandem', fmtCell(cells.tandem, perSec)), orFailed(cells.automerge, 'automerge', fmtCell(cells.automerge, perSec)),
    orFailed(cells.orbitdb, 'orbitdb', fmtCell(cells.orbitdb, perSec)), orFailed(cells.classic, 'limits', `classic-level batch(): ${fmtCell(cells.classic, (v) => `${fmt(v)} puts/s`)}`),
    times(ratios.automerge), times(ratios.orbitdb), ratios.classic === undefined ? '-' : ratios.classic.toFixed(3), `T÷limit >= ${GOALS.w1VsClassic}`, verdict(pass)])
  rows.push([`W1 one at a time, awaited, ${fmt(Math.min(size, 10_000))} docs`, orFailed(single, 'tandem', fmtCell(single, perSec)), '-', orFailed(cells.orbitdb, 'orbitdb', fmtCell(cells.orbitdb, perSec)), '-', '-', times(ratios.singleVsOrbitdb), '-', '-', 'info'])
  results[`w1_${size}`] = { n: size, medians: cells, tandemSingle: single, ratios, goal: { minRatioVsClassic: GOALS.w1VsClassic, pass: pass ?? null } }
  charts.w1!.push({ title: `${fmt(size)} documents: documents written per second (higher is better)`, bars: [
    bar('Tandem (batches of 1000)', cells.tandem, COLORS.Tandem!, fmtCell(cells.tandem, perSec)),
    bar('Tandem (one at a time)', single, COLORS.Tandem!, fmtCell(single, perSec)),
    bar('automerge-repo', cells.automerge, COLORS['automerge-repo']!, fmtCell(cells.automerge, perSec)),
    bar('OrbitDB (one at a time)', cells.orbitdb, COLORS.OrbitDB!, fmtCell(cells.orbitdb, perSec)),
    bar('raw classic-level batch()', cells.classic, COLORS.limit!, fmtCell(cells.classic, (v) => `${fmt(v)} puts/s`)),
  ] })
}

const libp2p = cellOf(pick('w2', 'limits', 'libp2p'), (o) => o.bytesPerSec, RAW_BYTES)
const tcp = cellOf(pick('w2', 'limits', 'tcp'), (o) => o.bytesPerSec, RAW_BYTES)
const mibs = (v: number): string => `${fmt(v / MiB)} MiB/s`
for (const size of workloads.includes('w2') ? sizes : []) {
  const t = pick('w2', 'tandem', 'w2', size)
  const cells = { tandem: cellOf(t, docsPerSec, size), tandemBytes: cellOf(t, (o) => o.bytesPerSec, size), automerge: cellOf(pick('w2', 'automerge', 'w2', size), docsPerSec, size), orbitdb: cellOf(pick('w2', 'orbitdb', 'w2', size), docsPerSec, size) }
  const ratios = {
    automerge: ratioOf(t, pick('w2', 'automerge', 'w2', size), docsPerSec),
    orbitdb: ratioOf(t, pick('w2', 'orbitdb', 'w2', size), docsPerSec),
    libp2pBytes: ratioOf(t, pick('w2', 'limits', 'libp2p'), (o) => o.bytesPerSec, (o) => o.bytesPerSec),
  }
  const pass = ratios.orbitdb === undefined ? undefined : ratios.orbitdb >= GOALS.w2VsOrbitdb
  rows.push([`W2 replication A→B, ${fmt(size)} docs`, orFailed(cells.tandem, 'tandem', fmtCell(cells.tandem, (v) => `${perSec(v)} (${mibs(cells.tandemBytes.value ?? 0)} of blocks)`)),
    orFailed(cells.automerge, 'automerge', fmtCell(cells.automerge, perSec)), orFailed(cells.orbitdb, 'orbitdb', fmtCell(cells.orbitdb, perSec)),
    orFailed(libp2p, 'limits', `libp2p stream: ${fmtCell(libp2p, mibs, 'bytes')}`), times(ratios.automerge), times(ratios.orbitdb), ratios.libp2pBytes === undefined ? '-' : ratios.libp2pBytes.toFixed(3),
    `>= ${GOALS.w2VsOrbitdb}× OrbitDB (0.85 of the copy limit: bench/sync.ts)`, verdict(pass)])
  results[`w2_${size}`] = { n: size, medians: cells, ratios, goals: { minVsOrbitdb: GOALS.w2VsOrbitdb, pass: pass ?? null } }
  charts.w2!.push({ title: `${fmt(size)} documents A→B: documents per second (higher is better)`, bars: [
    bar('Tandem', cells.tandem, COLORS.Tandem!, fmtCell(cells.tandem, perSec)),
    bar('automerge-repo', cells.automerge, COLORS['automerge-repo']!, fmtCell(cells.automerge, perSec)),
    bar('OrbitDB', cells.orbitdb, COLORS.OrbitDB!, fmtCell(cells.orbitdb, perSec)),
  ] })
}
if (workloads.includes('w2') && (libp2p.runs > 0 || tcp.runs > 0)) {
  rows.push([`limits: ${fmt(RAW_BYTES / MiB)} MiB in 64 KiB chunks`, '-', '-', '-', `libp2p ${fmtCell(libp2p, mibs, 'bytes')}; TCP ${fmtCell(tcp, mibs, 'bytes')}`, '-', '-', '-', '-', 'limit'])
  const tandemBytes = (size: number): Cell => cellOf(pick('w2', 'tandem', 'w2', size), (o) => o.bytesPerSec, size)
  charts.w2!.push({ title: 'bytes per second: Tandem\'s stored blocks moved, against the raw streams', bars: [
    ...sizes.map((size) => { const c = tandemBytes(size); return bar(`Tandem, ${fmt(size)} docs`, c, COLORS.Tandem!, fmtCell(c, mibs)) }),
    bar('raw libp2p stream', libp2p, COLORS.limit!, fmtCell(libp2p, mibs, 'bytes')),
    bar('plain TCP loopback', tcp, COLORS.limit!, fmtCell(tcp, mibs, 'bytes')),
  ] })
  results.limits = { libp2pStream: libp2p, tcp, bytes: RAW_BYTES, chunk: 64 * 1024 }
}

if (workloads.includes('w3')) {
  const t = pick('w3', 'tandem', 'w3')
  const ms = (v: number): string => `${fmt(v, 1)} ms`
  const c = (s: System): { p50: Cell; p99: Cell } => ({ p50: cellOf(pick('w3', s, 'w3'), (o) => o.p50, W3_EDITS), p99: cellOf(pick('w3', s, 'w3'), (o) => o.p99, W3_EDITS) })
  const cells = { tandem: c('tandem'), automerge: c('automerge'), orbitdb: c('orbitdb') }
  const ratios = {
    automergeP50: ratioOf(t, pick('w3', 'automerge', 'w3'), (o) => o.p50, (o) => o.p50, true),
    automergeP99: ratioOf(t, pick('w3', 'automerge', 'w3'), (o) => o.p99, (o) => o.p99, true),
    orbitdbP99: ratioOf(t, pick('w3', 'orbitdb', 'w3'), (o) => o.p99, (o) => o.p99, true),
  }
  // p50 and p99 within bounds, and ahead of automerge-repo at both (ratios taken within each run) when it ran.
  const { p50, p99 } = cells.tandem
  const ahead = [ratios.automergeP50, ratios.automergeP99].every((r) => r === undefined || r > 1)
  const pass = p50.value === undefined || p99.value === undefined || p99.dnf ? undefined : p50.value <= GOALS.w3P50Ms && p99.value <= GOALS.w3P99Ms && ahead
  const lat = (x: { p50: Cell; p99: Cell }, s: System): string => orFailed(x.p99, s, x.p99.dnf || x.p50.value === undefined || x.p99.value === undefined ? fmtCell(x.p99, ms, 'edits') : `p50 ${ms(x.p50.value)}, p99 ${ms(x.p99.value)}`)
  rows.push([`W3 one edit A→B, ${fmt(W3_EDITS)} edits one at a time`, lat(cells.tandem, 'tandem'), lat(cells.automerge, 'automerge'), lat(cells.orbitdb, 'orbitdb'), '-', ratios.automergeP50 === undefined ? times(ratios.automergeP99) : `p50 ${times(ratios.automergeP50)}, p99 ${times(ratios.automergeP99)}`, times(ratios.orbitdbP99), '-', `Tandem p50 <= ${GOALS.w3P50Ms} ms, p99 <= ${GOALS.w3P99Ms} ms, ahead of automerge-repo at both`, verdict(pass)])
  results.w3 = { edits: W3_EDITS, medians: cells, ratiosPeerOverTandem: ratios, goal: { maxP50Ms: GOALS.w3P50Ms, maxP99Ms: GOALS.w3P99Ms, aheadOfAutomerge: true, pass: pass ?? null } }
  charts.w3!.push(...([['p50', GOALS.w3P50Ms], ['p99', GOALS.w3P99Ms]] as const).map(([p, goal]) => ({
    title: `${p} latency of one edit A→B, ms (lower is better)`,
    bars: (['tandem', 'automerge', 'orbitdb'] as const).map((s) => bar(NAMES[s], cells[s][p], COLORS[NAMES[s]]!, fmtCell(cells[s][p], ms, 'edits'))),
    goal: { value: goal, text: `goal ${goal} ms` },
  })))
}

if (workloads.includes('w4')) {
  const t = pick('w4', 'tandem', 'w4')
  const docs = W4_SHARED + 2 * Math.floor(W4_EDITS / 2)
  const sec = (v: number): string => `${fmt(v, 2)} s`
  const c = (s: System): Cell => cellOf(pick('w4', s, 'w4'), (o) => o.seconds, docs)
  const cells = { tandem: c('tandem'), automerge: c('automerge'), orbitdb: c('orbitdb') }
  const ratios = { automerge: ratioOf(t, pick('w4', 'automerge', 'w4'), (o) => o.seconds, (o) => o.seconds, true), orbitdb: ratioOf(t, pick('w4', 'orbitdb', 'w4'), (o) => o.seconds, (o) => o.seconds, true) }
  const judged = W4_EDITS === GOALS.w4Edits
  const pass = !judged || cells.tandem.value === undefined || cells.tandem.dnf ? undefined : cells.tandem.value < GOALS.w4Seconds
  rows.push([`W4 partition, ${fmt(W4_EDITS)} edits a side (${fmt(W4_SHARED)} shared docs), resync`, ...(['tandem', 'automerge', 'orbitdb'] as const).map((s) => orFailed(cells[s], s, fmtCell(cells[s], sec))),
    '-', times(ratios.automerge), times(ratios.orbitdb), '-', `Tandem < ${GOALS.w4Seconds} s at ${fmt(GOALS.w4Edits)} a side`, judged ? verdict(pass) : 'info'])
  results.w4 = { editsPerSide: W4_EDITS, shared: W4_SHARED, docs, medians: cells, ratiosPeerOverTandem: ratios, goal: { maxSeconds: GOALS.w4Seconds, atEdits: GOALS.w4Edits, judged, pass: pass ?? null } }
  charts.w4!.push({ title: `seconds from reconnect to identical state, ${fmt(W4_EDITS)} edits a side (lower is better)`,
    bars: (['tandem', 'automerge', 'orbitdb'] as const).map((s) => bar(NAMES[s], cells[s], COLORS[NAMES[s]]!, fmtCell(cells[s], sec))),
    ...(judged ? { goal: { value: GOALS.w4Seconds, text: `goal ${GOALS.w4Seconds} s` } } : {}) })
}

if (workloads.includes('w5')) {
  const t = pick('w5', 'tandem', 'w5')
  const f = (k: string): Cell => cellOf(t, (o) => o[k], w5N)
  const cells = { openMs: f('openMs'), firstPageMs: f('firstPageMs'), rssMB: f('rssMB'), topics: f('topics'), topicsWith10Hot: f('topicsWith10Hot'), buildSeconds: f('buildSeconds') }
  const judged = w5N === GOALS.w5N
  const rssPass = cells.rssMB.value === undefined ? undefined : cells.rssMB.value < GOALS.w5RssMB
  const topicsPass = cells.topics.value === undefined ? undefined : cells.topics.value <= 1 && (cells.topicsWith10Hot.value ?? Infinity) <= 11
  const text = cells.openMs.value === undefined ? unavailable('tandem')
    : `open ${fmt(cells.openMs.value)} ms, first page ${fmt(cells.firstPageMs.value!, 1)} ms, RSS ${fmt(cells.rssMB.value!)} MB, ${fmt(cells.topics.value!)} topic(s) (${fmt(cells.topicsWith10Hot.value!)} with 10 hot docs)`
  rows.push([`W5 one collection of ${fmt(w5N)} docs, one node`, text, 'not run: one document per record, no collection to open', 'not run: a log this long takes hours to write at its rate', '-', '-', '-', '-', `RSS < ${GOALS.w5RssMB} MB at ${fmt(GOALS.w5N)}; topics O(collections + hot docs)`,
    `${judged ? verdict(rssPass) : 'info'}; ${verdict(topicsPass)}`])
  results.w5 = { n: w5N, medians: cells, goals: { maxRssMB: GOALS.w5RssMB, judged, rssPass: judged ? rssPass ?? null : null, topicsPass: topicsPass ?? null } }
  const val = (c: Cell, u: string): string => (c.value === undefined ? '-' : `${fmt(c.value, c.value < 10 ? 1 : 0)} ${u}`)
  const one = (label: string, c: Cell, u: string, goal?: number): Panel => ({ title: label, bars: [bar('Tandem', c, COLORS.Tandem!, val(c, u))], ...(goal !== undefined ? { goal: { value: goal, text: `goal ${goal} ${u} at ${fmt(GOALS.w5N)}` } } : {}) })
  charts.w5!.push(one('open the node (ms)', cells.openMs, 'ms'), one('first page of 50 (ms)', cells.firstPageMs, 'ms'), one('RSS after open and first page (MB)', cells.rssMB, 'MB', GOALS.w5RssMB),
    { title: 'pubsub topics subscribed', bars: [bar('1 collection', cells.topics, COLORS.Tandem!, val(cells.topics, 'topic(s)')), bar('+ 10 opened docs', cells.topicsWith10Hot, COLORS.Tandem!, val(cells.topicsWith10Hot, 'topics'))] })
}

if (workloads.includes('w6')) {
  const t = pick('w6', 'tandem', 'w6')
  type Row = Record<string, number>
  const edit = (d: number, k: string): Cell => cellOf(t, (o) => (o.edit as Row[]).find((x) => x.devices === d)?.[k] ?? NaN, W3_EDITS)
  const catchup = (h: number, k: string): Cell => cellOf(t, (o) => (o.catchup as Row[]).find((x) => x.holders === h)?.[k] ?? NaN, w6N)
  const within = (f: (o: Out) => number | null | undefined): number | undefined => {
    const xs = t.filter((s) => s.out.finished).map((s) => f(s.out)).filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
    return xs.length === 0 ? undefined : median(xs)
  }
  // Ratios within each run (bench/group.ts measured both sides minutes apart), then their median.
  const p99Ratio = within((o) => o.goals.p99.ratio)
  const limitRatio = within((o) => o.goals.p99.limit?.ratio)
  const streamsRatio = within((o) => o.goals.p99.streams?.ratio)
  const catchupRatio = within((o) => o.goals.catchup.ratio)
  const bytesRatio = within((o) => o.goals.catchup.bytesRatio)
  const served = within((o) => o.goals.catchup.servedByFour)
  const p99Pass = p99Ratio === undefined ? undefined : p99Ratio <= GOALS.w6P99Factor
  const catchupPass = catchupRatio === undefined ? undefined : catchupRatio >= GOALS.w6CatchupRatio
  const ms = (c: Cell): string => (c.value === undefined ? '-' : `${fmt(c.value, 1)} ms`)
  const dps = (c: Cell): string => (c.value === undefined ? '-' : perSec(c.value))
  const notRun = 'not run: Tandem only (bench/group.ts)'
  rows.push([`W6 one edit to the 4 others (5 devices) vs 2 devices, ${fmt(W3_EDITS)} edits`,
    orFailed(edit(5, 'p99'), 'tandem', `5 devices: p50 ${ms(edit(5, 'p50'))}, p99 ${ms(edit(5, 'p99'))}; 2 devices: p50 ${ms(edit(2, 'p50'))}, p99 ${ms(edit(2, 'p99'))}; p99 ${times(p99Ratio)}`),
    notRun, notRun, limitRatio === undefined ? '-' : `the stack's gossip alone (no database): p99 ${times(limitRatio)}${streamsRatio === undefined ? '' : `; direct streams alone (no gossipsub): p99 ${times(streamsRatio)}`}`, '-', '-', '-', `p99 <= ${GOALS.w6P99Factor}× the 2-device p99`, verdict(p99Pass)])
  rows.push([`W6 a 5th device catches up on ${fmt(w6N)} docs from 4 holders vs 1`,
    orFailed(catchup(4, 'docsPerSec'), 'tandem', `from 4: ${dps(catchup(4, 'docsPerSec'))} (${served === undefined ? '-' : fmt(served)} of 4 served, ${bytesRatio === undefined ? '-' : bytesRatio.toFixed(2)}× the bytes); from 1: ${dps(catchup(1, 'docsPerSec'))}; ${times(catchupRatio)}`),
    notRun, notRun, '-', '-', '-', '-', `from 4 >= ${GOALS.w6CatchupRatio}× from 1 (faster if from several)`, verdict(catchupPass)])
  // The group sizes measured (the smoke measures 2 and 5 only).
  const sizes6 = [2, 3, 4, 5].filter((d) => t.some((x) => (x.out.edit as Row[]).some((e) => e.devices === d)))
  results.w6 = {
    n: w6N, edits: W3_EDITS,
    medians: { edit: Object.fromEntries(sizes6.map((d) => [d, { p50: edit(d, 'p50'), p99: edit(d, 'p99'), bytesPerDevicePerEdit: edit(d, 'bytesPerDevicePerEdit'), allCpuMsPerEdit: edit(d, 'allCpuMsPerEdit') }])),
      catchup: Object.fromEntries(sizes6.map((d) => [d - 1, { docsPerSec: catchup(d - 1, 'docsPerSec'), freshBytesIn: catchup(d - 1, 'freshBytesIn'), freshCpuMs: catchup(d - 1, 'freshCpuMs') }])) },
    ratios: { p99FiveOverTwo: p99Ratio ?? null, limitP99FiveOverTwo: limitRatio ?? null, streamsP99FiveOverTwo: streamsRatio ?? null, catchupFourOverOne: catchupRatio ?? null, bytesFourOverOne: bytesRatio ?? null },
    goals: { maxP99Factor: GOALS.w6P99Factor, p99Pass: p99Pass ?? null, minCatchupRatio: GOALS.w6CatchupRatio, catchupPass: catchupPass ?? null },
  }
  const two = edit(2, 'p99').value
  charts.w6!.push(
    { title: `p99 of one edit reaching every other device, ms (lower is better)`, bars: sizes6.map((d) => { const c = edit(d, 'p99'); return bar(`${d} devices`, c, COLORS.Tandem!, ms(c)) }),
      ...(two !== undefined ? { goal: { value: GOALS.w6P99Factor * two, text: `goal ${GOALS.w6P99Factor}× the 2-device p99` } } : {}) },
    { title: `p50 of one edit reaching every other device, ms (lower is better)`, bars: sizes6.map((d) => { const c = edit(d, 'p50'); return bar(`${d} devices`, c, COLORS.Tandem!, ms(c)) }) },
    { title: `a fresh device catching up on ${fmt(w6N)} documents: docs/s (higher is better)`, bars: sizes6.map((d) => { const c = catchup(d - 1, 'docsPerSec'); return bar(`from ${d - 1} holder${d === 2 ? '' : 's'}`, c, COLORS.Tandem!, dps(c)) }),
      ...(catchup(1, 'docsPerSec').value !== undefined ? { goal: { value: catchup(1, 'docsPerSec').value!, text: 'goal: from 1 holder' } } : {}) },
    { title: 'bytes the fresh device received, MB', bars: sizes6.map((d) => { const c = catchup(d - 1, 'freshBytesIn'); return bar(`from ${d - 1} holder${d === 2 ? '' : 's'}`, c, COLORS.Tandem!, c.value === undefined ? '-' : `${fmt(c.value / 1e6, 1)} MB`) }) },
  )
}

// ---- output ----

const cpu = cpus()
const machine = `node ${process.version}, ${platform()} ${arch()}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, dir ${tmpdir()}`
const head = `Tandem vs automerge-repo, OrbitDB and the limits: ${runs} run${runs === 1 ? '' : 's'}, medians; time cap ${capText} per system per workload`
console.log('')
console.log(head)
console.log(machine)
console.log('')
console.log(table(rows))
console.log('')
console.log('T÷peer: how many times better Tandem is (docs/s: Tandem ÷ peer; latency and time: peer ÷ Tandem), computed within each run, median.')
console.log('T÷limit: Tandem docs/s ÷ raw classic-level puts/s (W1); Tandem block bytes/s ÷ raw libp2p stream bytes/s (W2).')
console.log('Each system in its own process; both nodes of W2–W4 in that one process. ~200 B documents.')
if (failures.length > 0) console.log(`failed: ${failures.map((f) => `${f.workload} ${NAMES[f.system]}${f.system === 'limits' ? ` ${f.variant}` : ''} run ${f.run + 1}`).join(', ')} (see compare.json)`)

mkdirSync(RESULTS, { recursive: true })
const subtitle = `${runs} run${runs === 1 ? '' : 's'}, medians; cap ${capText}; ${machine}; ${new Date().toISOString().slice(0, 16)}Z`
const titles: Record<string, string> = {
  w1: 'W1 local writes', w2: 'W2 replication A→B, from connect to all documents on B', w3: `W3 one-edit propagation, ${fmt(W3_EDITS)} edits one at a time`,
  w4: `W4 partition: ${fmt(W4_EDITS)} edits a side, ${fmt(W4_SHARED)} shared docs, then reconnect`, w5: `W5 one collection of ${fmt(w5N)} documents on one Tandem node`,
  w6: `W6 a group of devices, each in its own process: ${fmt(W3_EDITS)} edits to every other device; a fresh device catching up on ${fmt(w6N)} documents`,
}
const written: string[] = []
for (const [w, panels] of Object.entries(charts)) {
  if (panels.length === 0) continue
  const file = join(RESULTS, `${w}.svg`)
  writeFileSync(file, chart(titles[w]!, subtitle, panels))
  written.push(file)
}
const result = {
  benchmark: 'compare',
  date: new Date().toISOString(),
  node: process.version,
  machine: { platform: platform(), release: release(), arch: arch(), cpus: cpu.length, cpuModel: cpu[0]?.model ?? null, totalMemBytes: totalmem(), tmpdir: tmpdir() },
  quick,
  options: { sizes, runs, systems, workloads, capMinutes: capMin, w3Edits: W3_EDITS, w4EditsPerSide: W4_EDITS, w4Shared: W4_SHARED, w5N, w6N, rawBytes: RAW_BYTES },
  goals: GOALS,
  table: rows,
  results,
  samples,
  failures,
}
// The same table in Markdown, for the README's "Performance" section.
const md = [`${head}. ${machine}.`, '', `| ${rows[0]!.join(' | ')} |`, `| ${rows[0]!.map(() => '---').join(' | ')} |`, ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`), ''].join('\n')
writeFileSync(join(RESULTS, 'compare.md'), md)
const out = join(RESULTS, 'compare.json')
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)
console.log(`results: ${out}`)
console.log(`charts: ${written.join(', ')}`)
process.exit(0)
