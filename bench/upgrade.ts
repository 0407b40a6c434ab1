/**
 * How long a data directory's store upgrade takes (main/db/upgrade.ts): the copy kept during it,
 * and a trivial step that touches every document record once.
 *
 *   node bench/upgrade.ts [--n 100000] [--runs 3]
 *
 * Writes N Books documents (`createDocuments` in batches of 1000) into a fresh data directory, closes
 * it, copies it R times (so each run upgrades the same directory, cold from its own open), and opens
 * each copy with a test step (from this Tandem's store format to the next) that reads every `docs` record and writes it back (batches of
 * 1000). Reports, per run: the copy of db/ (hard links for tables, copies of the rest, fsynced), the
 * step, the whole open (LevelDB open, copy, step, the synced format write, removing the copy), and
 * the store's size. Not part of `npm test`.
 */
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Database } from '../main/db/database.ts'
import type { UpgradeStep } from '../main/db/upgrade.ts'
import { STORE_FORMAT, UPGRADES } from '../main/db/upgrades/index.ts'
import { WHOLE_SCAN } from '../main/db/store.ts'
import { BOOKS, fmt, makeDoc, median } from './common.ts'

const { values } = parseArgs({ options: { n: { type: 'string', default: '100000' }, runs: { type: 'string', default: '3' } } })
const N = Number(values.n)
const RUNS = Number(values.runs)

/** The store's format to the next: every document record read and written back as it is, in batches of 1000. */
const touchEveryRecord: UpgradeStep = {
  from: STORE_FORMAT,
  to: STORE_FORMAT + 1,
  describe: 'bench: every document record is read and written back',
  run: async (ctx) => {
    const { store } = ctx
    let batch = ctx.batch()
    let pending = 0
    let done = 0
    for await (const [key, text] of store.docsByBucket.iterator({ ...WHOLE_SCAN })) {
      batch.put(key, text, { sublevel: store.docsByBucket })
      done++
      if (++pending === 1000) {
        await batch.write()
        batch = ctx.batch()
        pending = 0
        ctx.progress(done, N)
      }
    }
    await batch.write()
    ctx.progress(done, N)
  },
}

async function sizeOf(dir: string): Promise<{ bytes: number; files: number; tables: number }> {
  let bytes = 0
  let tables = 0
  const names = await readdir(dir)
  for (const n of names) {
    bytes += (await stat(join(dir, n))).size
    if (/\.(ldb|sst)$/.test(n)) tables++
  }
  return { bytes, files: names.length, tables }
}

const root = await mkdtemp(join(tmpdir(), 'tandem-bench-upgrade-'))
try {
  const source = join(root, 'source')
  const t0 = performance.now()
  const db = await Database.open(source)
  await db.addCollections(BOOKS)
  for (let i = 0; i < N; i += 1000) await db.createDocuments('Books', Array.from({ length: Math.min(1000, N - i) }, (_, j) => makeDoc(i + j)))
  await db.close()
  const size = await sizeOf(join(source, 'db'))
  console.log(`${fmt(N)} documents written in ${fmt((performance.now() - t0) / 1000, 1)} s; db/ holds ${fmt(size.bytes / 1e6, 1)} MB in ${size.files} files (${size.tables} tables)`)

  const rows: Array<{ backup: number; step: number; open: number }> = []
  for (let r = 0; r < RUNS; r++) {
    const dir = join(root, `run${r}`)
    await cp(source, dir, { recursive: true })
    const t = performance.now()
    const up = await Database.open(dir, { upgrades: [...UPGRADES, touchEveryRecord] })
    const open = performance.now() - t
    const last = up.lastUpgrade!
    const count = (await up.getCollection('Books')).count
    await up.close()
    if (count !== N) throw new Error(`after the upgrade Books has ${count} documents, not ${N}`)
    rows.push({ backup: last.backupMs, step: last.steps[0]!.ms, open })
    console.log(`run ${r + 1}: copy ${fmt(last.backupMs)} ms, step ${fmt(last.steps[0]!.ms)} ms, whole open ${fmt(open)} ms`)
    await rm(dir, { recursive: true, force: true })
  }
  console.log(`median of ${RUNS}: copy ${fmt(median(rows.map((x) => x.backup)))} ms, step ${fmt(median(rows.map((x) => x.step)))} ms, ` +
    `whole open with the upgrade ${fmt(median(rows.map((x) => x.open)))} ms (${fmt(N)} documents)`)
} finally {
  await rm(root, { recursive: true, force: true })
}
