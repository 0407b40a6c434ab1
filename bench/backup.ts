/**
 * Backup and restore (issue 19): N documents (one block each, ~100 bytes of fields) on a database,
 * then, timed: export to a car, export to json, import the car into a fresh database (the whole
 * check pass, then the merge), import the json into another; against a raw copy of the same blocks
 * in the same run (every CID → bytes pair of the source read by an iterator and written into an
 * empty classic-level by batch() of 1000: no checks, no records, no merge: the most an import
 * that writes the blocks could reach here). docs/s, MB, peak RSS; medians of --runs.
 *
 *   node bench/backup.ts [--n 100000] [--runs 1] [--car-only]   (--car-only: no json steps, e.g. for 1M documents)
 */
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ClassicLevel } from 'classic-level'
import { Database } from '../main/db/database.ts'
import { exportCar, exportJson, importBackup, type BackupContext } from '../main/db/backup/index.ts'

const { values } = parseArgs({ options: { n: { type: 'string', default: '100000' }, runs: { type: 'string', default: '1' }, 'car-only': { type: 'boolean', default: false } } })
const CAR_ONLY = values['car-only']
const N = Number(values.n)
const RUNS = Number(values.runs)
const ctx = (db: Database): BackupContext => ({ db, deviceName: 'bench', nameOf: () => '' })
const member = { isMember: () => true }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const base = await mkdtemp(join(tmpdir(), 'tandem-bench-backup-'))
// RSS counts LevelDB's memory-mapped table files (reading a 1 GB store maps up to 1 GB), so the JS
// heap plus array buffers is reported beside it: what the process itself holds.
let peak = 0
let peakJs = 0
const js = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }
const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); peakJs = Math.max(peakJs, js()) }, 50)
try {
  const src = await Database.open(join(base, 'src'))
  await src.addCollections('type Books { title: String! author: String pages: Int read: Boolean }')
  for (let i = 0; i < N; i += 5000) {
    await src.createDocuments('Books', Array.from({ length: Math.min(5000, N - i) }, (_, k) => ({
      title: `The book number ${i + k}`, author: `Author ${(i + k) % 997}`, pages: (i + k) % 1000, read: (i + k) % 3 === 0,
    })))
  }
  const times: Record<string, number[]> = { 'export car': [], 'export json': [], 'import car (fresh)': [], 'import car again (all here)': [], 'import json (fresh)': [], 'raw copy of the blocks': [] }
  let peaks: Record<string, number> = {}
  const jsPeaks: Record<string, number> = {}
  let carBytes = 0
  let jsonBytes = 0
  for (let r = 0; r < RUNS; r++) {
    const dir = join(base, `run${r}`)
    const car = join(base, `run${r}.car`)
    const json = join(base, `run${r}.json`)
    const rss: Record<string, number> = {}
    const mark = (label: string): void => {
      rss[label] = Math.max(rss[label] ?? 0, peak)
      jsPeaks[label] = Math.max(jsPeaks[label] ?? 0, peakJs)
      peak = process.memoryUsage().rss
      peakJs = js()
    }
    mark('set-up')
    let t0 = performance.now()
    carBytes = (await exportCar(ctx(src), car)).bytes
    times['export car']!.push(performance.now() - t0)
    mark('export car')
    if (!CAR_ONLY) {
      t0 = performance.now()
      jsonBytes = (await exportJson(ctx(src), json)).bytes
      times['export json']!.push(performance.now() - t0)
      mark('export json')
    }

    const a = await Database.open(join(dir, 'car'))
    t0 = performance.now()
    const r1 = await importBackup(ctx(a), car, member)
    times['import car (fresh)']!.push(performance.now() - t0)
    mark('import car (fresh)')
    if (r1.collections[0]!.imported !== N) throw new Error(`imported ${r1.collections[0]!.imported} of ${N}`)
    t0 = performance.now()
    await importBackup(ctx(a), car, member)
    times['import car again (all here)']!.push(performance.now() - t0)
    mark('import car again (all here)')
    await a.close()

    if (!CAR_ONLY) {
      const b = await Database.open(join(dir, 'json'))
      t0 = performance.now()
      const r2 = await importBackup(ctx(b), json, member)
      times['import json (fresh)']!.push(performance.now() - t0)
      mark('import json (fresh)')
      if (r2.collections[0]!.imported !== N) throw new Error(`json imported ${r2.collections[0]!.imported} of ${N}`)
      await b.close()
    }

    const raw = new ClassicLevel<string, Uint8Array>(join(dir, 'raw'), { valueEncoding: 'view' })
    await raw.open()
    t0 = performance.now()
    let batch = raw.batch()
    let count = 0
    for await (const { cid, bytes } of src.allBlocks()) {
      batch.put(cid, bytes)
      if (++count % 1000 === 0) { await batch.write(); batch = raw.batch() }
    }
    await batch.write()
    times['raw copy of the blocks']!.push(performance.now() - t0)
    mark('raw copy of the blocks')
    peaks = rss
    await raw.close()
    await rm(dir, { recursive: true, force: true })
  }
  await src.close()
  const rawMs = median(times['raw copy of the blocks']!)
  console.log(`\nBackup of ${N.toLocaleString('en-US')} documents (1 block each); car ${(carBytes / 1e6).toFixed(1)} MB, json ${(jsonBytes / 1e6).toFixed(1)} MB; median of ${RUNS} run(s)\n`)
  console.log('| step | time | docs/s | ÷ raw copy | peak RSS | peak JS heap + buffers |')
  console.log('| --- | --- | --- | --- | --- | --- |')
  for (const [label, xs] of Object.entries(times)) {
    if (xs.length === 0) continue
    const ms = median(xs)
    console.log(`| ${label} | ${(ms / 1000).toFixed(2)} s | ${Math.round(N / (ms / 1000)).toLocaleString('en-US')} | ${(rawMs / ms).toFixed(3)} | ${((peaks[label] ?? 0) / 1e6).toFixed(0)} MB | ${((jsPeaks[label] ?? 0) / 1e6).toFixed(0)} MB |`)
  }
  console.log(`\nset-up (writing the ${N} documents) peak RSS ${((peaks['set-up'] ?? 0) / 1e6).toFixed(0)} MB, JS ${((jsPeaks['set-up'] ?? 0) / 1e6).toFixed(0)} MB`)
} finally {
  clearInterval(sample)
  await rm(base, { recursive: true, force: true })
}
