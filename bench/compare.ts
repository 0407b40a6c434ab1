/**
 * Tandem against its peers, pair by pair in one run: automerge-repo and OrbitDB (issue 7, W1 and W2).
 *
 *   node bench/compare.ts [--quick] [--n N] [--runs R] [--only tandem,automerge,orbitdb]
 *
 * Each system runs in its own child process (bench/peers/<system>.ts --n N), one after the other, R
 * times (the order rotates between runs); each child prints one JSON line with its W1 and W2 seconds.
 * The table shows medians and the ratios Tandem ÷ peer of documents/s. Results:
 * bench/results/compare.json. See bench/README.md, "Peers".
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, platform, arch, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { spawnSync } from 'node:child_process'
import { fmt, median, table } from './common.ts'

const SYSTEMS = ['tandem', 'automerge', 'orbitdb'] as const
type System = (typeof SYSTEMS)[number]
const NAMES: Record<System, string> = { tandem: 'Tandem', automerge: 'automerge-repo', orbitdb: 'OrbitDB' }
const GOAL_W2_VS_ORBITDB = 10
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
const USAGE = `usage: node bench/compare.ts [--quick] [--n N] [--runs R] [--only LIST]
  --quick      N = 1000, R = 1 (a smoke run, well under a minute)
  --n N        documents for W1 and W2 (default 10000)
  --runs R     runs of each system (default 3); medians are reported
  --only LIST  systems to run, from ${SYSTEMS.join(',')} (ratios need tandem)`

let values
try {
  values = parseArgs({
    options: { quick: { type: 'boolean', default: false }, n: { type: 'string' }, runs: { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }).values
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`)
  process.exit(2)
}
if (values.help) { console.log(USAGE); process.exit(0) }
const quick = values.quick === true
const count = (flag: string, raw: string | undefined, fallback: number): number => {
  if (raw === undefined) return fallback
  const v = Number(raw)
  if (!Number.isInteger(v) || v < 1) { console.error(`--${flag} must be a positive integer, got ${raw}\n${USAGE}`); process.exit(2) }
  return v
}
const n = count('n', values.n, quick ? 1000 : 10_000)
const runs = count('runs', values.runs, quick ? 1 : 3)
const only = (values.only ?? SYSTEMS.join(',')).split(',').map((s) => s.trim())
for (const s of only) if (!(SYSTEMS as readonly string[]).includes(s)) { console.error(`--only: unknown system ${s}\n${USAGE}`); process.exit(2) }
const systems = SYSTEMS.filter((s) => only.includes(s))

interface Figure { seconds: number; docsPerSec: number }
interface Sample { system: System; run: number; w1: Figure; w1Single?: Figure; w2: Figure; versions: Record<string, string>; connections?: string[] }

const log = (s: string): void => { process.stderr.write(`${s}\n`) }
const samples: Sample[] = []
const failures: { system: System; run: number; error: string }[] = []
const childTimeoutMs = 120_000 + n * 300 // a peer slower than ~7 docs/s on both workloads is cut off

for (let r = 0; r < runs; r++) {
  const order = systems.map((_, i) => systems[(i + r) % systems.length]!)
  for (const system of order) {
    log(`run ${r + 1}/${runs}: ${NAMES[system]} W1 + W2 (${fmt(n)} docs)…`)
    const script = fileURLToPath(new URL(`./peers/${system}.ts`, import.meta.url))
    const child = spawnSync(process.execPath, [script, '--n', String(n)], { encoding: 'utf8', timeout: childTimeoutMs, maxBuffer: 16 * 1024 * 1024 })
    const line = child.stdout?.trim().split('\n').pop() ?? ''
    if (child.status !== 0 || !line.startsWith('{')) {
      const why = child.error?.message ?? (child.signal !== null ? `killed by ${child.signal}` : `exit ${child.status}`)
      const error = `${why}: ${(child.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`
      log(`  ${NAMES[system]} failed: ${error}`)
      failures.push({ system, run: r, error })
      continue
    }
    const out = JSON.parse(line) as Omit<Sample, 'system' | 'run'>
    samples.push({ system, run: r, w1: out.w1, ...(out.w1Single ? { w1Single: out.w1Single } : {}), w2: out.w2, versions: out.versions, ...(out.connections ? { connections: out.connections } : {}) })
  }
}

const med = (system: System, w: 'w1' | 'w2'): number | undefined => {
  const xs = samples.filter((s) => s.system === system).map((s) => s[w].docsPerSec)
  return xs.length === 0 ? undefined : median(xs)
}
const tandemSingle = ((): number | undefined => {
  const xs = samples.filter((s) => s.system === 'tandem' && s.w1Single !== undefined).map((s) => s.w1Single!.docsPerSec)
  return xs.length === 0 ? undefined : median(xs)
})()
const medians = Object.fromEntries(systems.map((s) => [s, { w1: med(s, 'w1'), w2: med(s, 'w2') }])) as Record<System, { w1?: number; w2?: number }>
const ratio = (w: 'w1' | 'w2', peer: System): number | undefined => {
  const t = medians.tandem?.[w]
  const p = medians[peer]?.[w]
  return t === undefined || p === undefined ? undefined : t / p
}
const ratios = {
  w1: { automerge: ratio('w1', 'automerge'), orbitdb: ratio('w1', 'orbitdb') },
  w1SingleVsOrbitdb: tandemSingle === undefined || medians.orbitdb?.w1 === undefined ? undefined : tandemSingle / medians.orbitdb.w1,
  w2: { automerge: ratio('w2', 'automerge'), orbitdb: ratio('w2', 'orbitdb') },
}
const w2Goal = ratios.w2.orbitdb === undefined ? undefined : ratios.w2.orbitdb >= GOAL_W2_VS_ORBITDB

const cell = (x: number | undefined, system: System = 'tandem'): string =>
  (x !== undefined ? `${fmt(x)} docs/s` : systems.includes(system) ? 'failed' : 'not run')
const rcell = (x: number | undefined): string => (x === undefined ? '-' : `${x.toFixed(1)}×`)
const rows = [
  ['workload', 'Tandem', 'automerge-repo', 'Tandem/automerge', 'OrbitDB', 'Tandem/OrbitDB', 'goal'],
  [`W1 local writes (${fmt(n)} docs)`, cell(medians.tandem?.w1), cell(medians.automerge?.w1, 'automerge'), rcell(ratios.w1.automerge), cell(medians.orbitdb?.w1, 'orbitdb'), rcell(ratios.w1.orbitdb), 'info'],
  [`W1 one at a time, awaited (${fmt(n)} docs)`, cell(tandemSingle), '-', '-', cell(medians.orbitdb?.w1, 'orbitdb'), rcell(ratios.w1SingleVsOrbitdb), 'info'],
  [`W2 replication A→B (${fmt(n)} docs)`, cell(medians.tandem?.w2), cell(medians.automerge?.w2, 'automerge'), rcell(ratios.w2.automerge), cell(medians.orbitdb?.w2, 'orbitdb'), rcell(ratios.w2.orbitdb),
    w2Goal === undefined ? `>= ${GOAL_W2_VS_ORBITDB}× OrbitDB` : `>= ${GOAL_W2_VS_ORBITDB}× OrbitDB: ${w2Goal ? 'pass' : 'MISS'}`],
]
const cpu = cpus()
console.log('')
console.log(`Tandem vs peers: ${fmt(n)} documents of ~200 B, ${runs} run${runs === 1 ? '' : 's'}, medians; each system in its own process, both peers of W2 in that process`)
console.log(`node ${process.version}, ${platform()} ${arch()}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, dir ${tmpdir()}`)
console.log('')
console.log(table(rows))
console.log('')
console.log('ratio = Tandem docs/s ÷ peer docs/s (higher is better for Tandem). W1: Tandem createDocuments in batches of 1000,')
console.log('automerge-repo create() + flush(), OrbitDB put() awaited one at a time (it has no batch; compare it with Tandem')
console.log('createDocument awaited one at a time, the second row). W2: from connect to all N documents on B.')
if (failures.length > 0) console.log(`failed: ${failures.map((f) => `${NAMES[f.system]} run ${f.run + 1}`).join(', ')} (see compare.json)`)

const result = {
  benchmark: 'compare',
  date: new Date().toISOString(),
  node: process.version,
  machine: { platform: platform(), release: release(), arch: arch(), cpus: cpu.length, cpuModel: cpu[0]?.model ?? null, totalMemBytes: totalmem(), tmpdir: tmpdir() },
  quick,
  n,
  runs,
  units: { docsPerSec: 'documents per second', seconds: 'wall time of the timed part' },
  samples,
  failures,
  medians: { ...medians, tandemW1Single: tandemSingle },
  ratios,
  goals: { w2VsOrbitdb: { min: GOAL_W2_VS_ORBITDB, ratio: ratios.w2.orbitdb ?? null, pass: w2Goal ?? null } },
}
mkdirSync(RESULTS, { recursive: true })
const out = join(RESULTS, 'compare.json')
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)
console.log(`results: ${out}`)
process.exit(0)
