/**
 * Data directories upgrade in place (main/db/upgrade.ts). The committed fixture
 * tests/fixtures/store-v4/ is a directory written in store format 4 by the Tandem of that time; each
 * test works on a copy of it. The real registry (main/db/upgrades/index.ts) may be empty, so the
 * upgrades here run test-only steps (fixtures/upgrade-steps.ts) through `Database.open`'s
 * `upgrades` option. Every check reads what a person would see: documents, histories, devices,
 * replicators, files on disk, error messages.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Database, storeOf } from '../../main/db/database.ts'
import { ClassicLevel } from 'classic-level'
import { openStore, snapshot, type UpgradeProgress } from '../../main/db/upgrade.ts'
import { STORE_FORMAT } from '../../main/db/upgrades/index.ts'
import { Group } from '../../main/net/group.ts'
import { TandemNode } from '../../main/node/tandem-node.ts'
import { createApi } from '../../main/api/implementation.ts'
import type { NodeInfo } from '../../shared/api/index.ts'
import { isTandemError } from '../../shared/errors.ts'
import { tempDir } from '../helpers/tmp.ts'
import { emptyChain, noteRan, RAN_KEY, REWRITTEN_KEY, rewriteDocs } from './fixtures/upgrade-steps.ts'

const FIXTURE = fileURLToPath(new URL('../fixtures/store-v4/', import.meta.url))
const RUNNER = fileURLToPath(new URL('./fixtures/upgrade-runner.ts', import.meta.url))
const expected = JSON.parse(await readFile(fileURLToPath(new URL('../fixtures/store-v4.json', import.meta.url)), 'utf8')) as {
  deviceID: string
  collections: Array<{ id: string; name: string; count: number }>
  documents: Record<string, unknown[]>
  histories: Record<string, unknown[]>
  devices: unknown[]
  replicators: unknown[]
  outbox: { target: string; pending: number; entries: unknown[] }
}
const RECORDS = Object.values(expected.documents).reduce((n, d) => n + d.length, 0)

/** A copy of the fixture in a fresh temporary directory (never the fixture itself: LevelDB rewrites files on open). */
async function fixtureCopy(t: TestContext): Promise<string> {
  const dir = join(await tempDir(t), 'data')
  await cp(FIXTURE, dir, { recursive: true })
  return dir
}

/** Everything of the fixture a person sees, read through the database (and the device group on it). */
async function readEverything(db: Database): Promise<typeof expected> {
  const documents: Record<string, unknown[]> = {}
  const histories: Record<string, unknown[]> = {}
  for (const name of ['Books', 'Notes']) {
    const live = await db.listDocuments(name, { limit: 1000 })
    const deleted = await db.listDocuments(name, { deleted: true, limit: 1000 })
    documents[name] = [...live.docs, ...deleted.docs].sort((a, b) => (a.docID < b.docID ? -1 : 1))
    for (const d of documents[name] as Array<{ docID: string }>) histories[`${name}/${d.docID}`] = await db.history(name, d.docID)
  }
  const replicators: unknown[] = []
  for await (const r of db.namespace('replicators').values()) replicators.push(r)
  const target = expected.outbox.target
  return {
    deviceID: db.deviceID,
    collections: (await db.listCollections()).map((c) => ({ id: c.id, name: c.name, count: c.count })),
    documents,
    histories,
    devices: (await Group.load(db)).list(),
    replicators,
    outbox: { target, pending: db.outbox.count(target), entries: await db.outbox.peek(target, 1000) },
  }
}

function assertAllThere(got: typeof expected): void {
  assert.equal(got.deviceID, expected.deviceID, 'the device key')
  assert.deepEqual(got.collections, expected.collections.map((c) => ({ id: c.id, name: c.name, count: c.count })))
  assert.deepEqual(got.documents, expected.documents, 'every document, deleted ones too')
  assert.deepEqual(got.histories, expected.histories, 'every document history')
  assert.equal(got.devices.length, 1)
  assert.deepEqual(got.devices, expected.devices, 'the paired device')
  assert.deepEqual(got.replicators, expected.replicators, 'the replicator')
  assert.deepEqual(got.outbox, expected.outbox, "the replicator's outbox")
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false)
}

/** The format in `meta` and in the format file, and whether the marker or the copy is left. */
async function state(dir: string, db?: Database): Promise<{ format: unknown; file: unknown; marker: boolean; backup: boolean }> {
  const file = await readFile(join(dir, 'db', 'tandem-format.json'), 'utf8').then((t) => (JSON.parse(t) as { storeFormat: number }).storeFormat, () => null)
  return {
    format: db === undefined ? undefined : await storeOf(db).meta.get('storeFormat'),
    file,
    marker: await exists(join(dir, 'db.upgrading.json')),
    backup: await exists(join(dir, 'db.upgrade-backup')),
  }
}

/** Every file under `dir`: relative path → bytes and mode. */
async function filesOf(dir: string): Promise<Map<string, { bytes: Buffer; mode: number }>> {
  const out = new Map<string, { bytes: Buffer; mode: number }>()
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    const path = join(e.parentPath, e.name)
    out.set(path.slice(dir.length), { bytes: await readFile(path), mode: (await stat(path)).mode })
  }
  return out
}

test('a format-4 data directory (the committed fixture) opens with the real steps, with every document, history, device and replicator', async (t) => {
  const dir = await fixtureCopy(t)
  const db = await Database.open(dir)
  t.after(() => db.close())
  assertAllThere(await readEverything(db))
  if (STORE_FORMAT === 4) {
    // No real format change yet (main/db/upgrades/index.ts is empty): nothing to upgrade, nothing written.
    assert.deepEqual(await state(dir, db), { format: 4, file: null, marker: false, backup: false })
    assert.equal(db.lastUpgrade, null)
  } else {
    assert.deepEqual(await state(dir, db), { format: STORE_FORMAT, file: STORE_FORMAT, marker: false, backup: false })
    assert.deepEqual([db.lastUpgrade?.from, db.lastUpgrade?.to], [4, STORE_FORMAT])
  }
})

test('with a step 4→5 the fixture upgrades once: format 5, every record the same, the copy removed, the upgrade recorded', async (t) => {
  const dir = await fixtureCopy(t)
  let runs = 0
  const lines: string[] = []
  const progress: UpgradeProgress[] = []
  const step = rewriteDocs({ onRun: () => { runs++ } })
  const db = await Database.open(dir, { upgrades: [step], log: (m) => lines.push(m), onUpgradeProgress: (p) => progress.push(p) })
  assert.equal(runs, 1)
  assertAllThere(await readEverything(db))
  assert.deepEqual(await state(dir, db), { format: 5, file: 5, marker: false, backup: false })
  assert.equal(await storeOf(db).meta.get(REWRITTEN_KEY), RECORDS, 'every record rewritten exactly once')
  const last = db.lastUpgrade
  assert.ok(last !== null)
  assert.deepEqual([last.from, last.to, last.steps.map((s) => s.describe)], [4, 5, [step.describe]])
  assert.ok(last.at <= Date.now() && last.at > Date.now() - 60_000 && last.ms >= last.backupMs)
  assert.deepEqual(progress.at(-1), { from: 4, to: 5, step: { index: 1, of: 1, from: 4, to: 5, describe: step.describe }, done: RECORDS, total: RECORDS })
  assert.match(lines.join('\n'), /from store format 4 to 5/)
  assert.match(lines.join('\n'), /step 1 of 1 .*every document record is read and written back/)
  assert.match(lines.at(-1)!, /Upgraded the data directory from store format 4 to 5 in .*; the copy is removed/)
  // A new document still goes in, and everything is there after a restart: no second upgrade.
  await db.createDocument('Notes', { text: 'after the upgrade' })
  await db.close()
  const again = await Database.open(dir, { upgrades: [step] })
  t.after(() => again.close())
  assert.equal(runs, 1, 'the upgrade does not run again')
  assert.equal((await again.getCollection('Notes')).count, expected.collections.find((c) => c.name === 'Notes')!.count + 1)
  assert.deepEqual(again.lastUpgrade, last)
})

test('a chain of steps 4→5→6 runs in order, each on what the one before left', async (t) => {
  const dir = await fixtureCopy(t)
  const order: string[] = []
  const db = await Database.open(dir, { upgrades: [rewriteDocs({ onRun: () => order.push('4→5') }), noteRan(() => order.push('5→6'))] })
  t.after(() => db.close())
  assert.deepEqual(order, ['4→5', '5→6'])
  assert.deepEqual(await storeOf(db).meta.get(RAN_KEY), [5, 6])
  assert.deepEqual(await state(dir, db), { format: 6, file: 6, marker: false, backup: false })
  assert.deepEqual(db.lastUpgrade?.steps.map((s) => [s.from, s.to]), [[4, 5], [5, 6]])
  assertAllThere(await readEverything(db))
})

interface Killed { lines: Array<{ phase: string; msg?: string; done?: number }>; signal: NodeJS.Signals | null }

/** Runs fixtures/upgrade-runner.ts on `dir`; it dies by SIGKILL (its own at `killAt`, or the test's at the first batch line past `killAfterBatch`). */
function runUpgrade(dir: string, delayMs: number, o: { killAt?: string; killAfterBatch?: number }): Promise<Killed> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, dir, String(delayMs), o.killAt ?? ''], { stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: Killed['lines'] = []
    let buf = ''
    let stderr = ''
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as Killed['lines'][number]
        buf = buf.slice(nl + 1)
        lines.push(line)
        if (o.killAfterBatch !== undefined && line.phase === 'batch' && line.done! >= o.killAfterBatch) child.kill('SIGKILL')
      }
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(guard)
      if (signal !== 'SIGKILL') reject(new Error(`the upgrade was not killed (code ${code}, signal ${signal}):\n${stderr}`))
      else resolve({ lines, signal })
    })
  })
}

test('SIGKILL mid-step: the copy and the marker are there, private; the next start restores the copy and upgrades again, nothing lost', async (t) => {
  const dir = await fixtureCopy(t)
  // One record per batch, 40 ms apart: the test kills the process once a few are rewritten.
  const killed = await runUpgrade(dir, 40, { killAfterBatch: 5 })
  const written = Math.max(...killed.lines.filter((l) => l.phase === 'batch').map((l) => l.done!))
  assert.ok(written >= 5 && written < RECORDS, `killed mid-step (after ${written} of ${RECORDS} records)`)
  assert.ok(!killed.lines.some((l) => l.phase === 'open'))
  assert.deepEqual(await state(dir), { format: undefined, file: null, marker: true, backup: true }, 'an interrupted upgrade leaves its marker and its copy')
  // The data directory stays this user's alone: the copy 0700, its files and the marker 0600.
  if (process.platform !== 'win32') {
    assert.equal((await stat(join(dir, 'db.upgrade-backup'))).mode & 0o777, 0o700)
    for (const name of await readdir(join(dir, 'db.upgrade-backup'))) {
      assert.equal((await stat(join(dir, 'db.upgrade-backup', name))).mode & 0o777, 0o600, name)
    }
    assert.equal((await stat(join(dir, 'db.upgrading.json'))).mode & 0o777, 0o600)
  }
  assert.match(await readFile(join(dir, 'db.upgrading.json'), 'utf8'), /"from": 4,\s+"to": 5/)

  const lines: string[] = []
  const db = await Database.open(dir, { upgrades: [rewriteDocs()], log: (m) => lines.push(m) })
  t.after(() => db.close())
  assert.match(lines[0]!, /An upgrade from store format 4 to 5 of .* did not finish: restoring the copy made before it, then upgrading again/)
  // Counted from the copy, not on top of the killed run's batches.
  assert.equal(await storeOf(db).meta.get(REWRITTEN_KEY), RECORDS, 'the upgrade ran again from the copy, once over every record')
  assert.deepEqual(await state(dir, db), { format: 5, file: 5, marker: false, backup: false })
  assertAllThere(await readEverything(db))
})

test('SIGKILL at every stage of an upgrade: the next start always ends upgraded with every record', async (t) => {
  const stages: Array<{ killAt: string; after: { marker: boolean; backup: boolean } }> = [
    // Before the copy: nothing changed yet.
    { killAt: 'log:Upgrading the data directory', after: { marker: false, backup: false } },
    // The copy made and marked; no step ran yet. Its table file is a hard link, the rest copies.
    { killAt: 'log:Copy made', after: { marker: true, backup: true } },
    { killAt: 'record:1', after: { marker: true, backup: true } },
    // Every step ran, the new format is not written yet.
    { killAt: 'log:done in', after: { marker: true, backup: true } },
    // After all of it: upgraded, the copy removed.
    { killAt: 'log:Upgraded the data directory', after: { marker: false, backup: false } },
  ]
  for (const stage of stages) {
    const dir = await fixtureCopy(t)
    await runUpgrade(dir, 0, { killAt: stage.killAt })
    const { marker, backup } = await state(dir)
    assert.deepEqual({ marker, backup }, stage.after, stage.killAt)
    if (stage.killAt === 'log:Copy made') {
      const table = (await readdir(join(dir, 'db'))).find((n) => n.endsWith('.ldb'))!
      assert.equal((await stat(join(dir, 'db.upgrade-backup', table))).ino, (await stat(join(dir, 'db', table))).ino, 'a table file is hard-linked')
    }
    const db = await Database.open(dir, { upgrades: [rewriteDocs()] })
    try {
      assert.deepEqual(await state(dir, db), { format: 5, file: 5, marker: false, backup: false }, stage.killAt)
      assert.equal(await storeOf(db).meta.get(REWRITTEN_KEY), RECORDS, stage.killAt)
      assertAllThere(await readEverything(db))
    } finally {
      await db.close()
    }
  }
})

test('the copy of a LevelDB that flushes and compacts meanwhile is whole: every key and value written before it', async (t) => {
  const root = await tempDir(t)
  // A tiny write buffer and table size: a flush every ~30 writes, and compactions one after another.
  const src = new ClassicLevel<string, string>(join(root, 'db'), { writeBufferSize: 32 * 1024, maxFileSize: 64 * 1024 })
  await src.open()
  const key = (i: number): string => `k${String(i).padStart(8, '0')}`
  const value = (i: number): string => `${i}:`.padEnd(1000, String.fromCharCode(97 + (i % 26)))
  let written = 0
  const write = async (n: number): Promise<void> => {
    for (let j = 0; j < n; j++) await src.put(key(written), value(written)).then(() => { written++ })
  }
  try {
    for (let round = 0; round < 5; round++) {
      await write(500)
      // The copy starts while LevelDB flushes and compacts what came before, and takes writes
      // (an open store is idle while it is copied; this one is not): it is taken again until its
      // files stay still, and must then hold every write.
      const dst = join(root, `copy${round}`)
      const copying = snapshot(join(root, 'db'), dst, 20_000)
      await write(300)
      const { attempts } = await copying
      assert.ok(attempts > 1, `round ${round}: LevelDB changed its files during the first copy (the case this test is for)`)
      const copy = new ClassicLevel<string, string>(dst)
      await copy.open()
      const keys = await copy.keys().all()
      const values = await copy.values().all()
      await copy.close()
      assert.equal(keys.length, written, `round ${round}: the copy holds every write`)
      assert.deepEqual(keys, Array.from({ length: keys.length }, (_, i) => key(i)), `round ${round}: in order, without gaps`)
      values.forEach((v, i) => assert.equal(v, value(i), `round ${round}: value ${i}`))
    }
  } finally {
    await src.close()
  }
})

test('a copy left without its marker (a crash while copying) is removed, and the upgrade runs from the directory itself', async (t) => {
  const dir = await fixtureCopy(t)
  await mkdir(join(dir, 'db.upgrade-backup'))
  await writeFile(join(dir, 'db.upgrade-backup', 'MANIFEST-000004'), 'cut short')
  const db = await Database.open(dir, { upgrades: [rewriteDocs()] })
  t.after(() => db.close())
  assert.deepEqual(await state(dir, db), { format: 5, file: 5, marker: false, backup: false })
  assertAllThere(await readEverything(db))
})

test('a step that fails leaves the directory as it was, says so, and the upgrade runs again at the next start', async (t) => {
  const dir = await fixtureCopy(t)
  const failing = rewriteDocs({ batch: 3, afterBatch: (done) => { if (done >= 6) throw new Error('disk on fire') } })
  await assert.rejects(Database.open(dir, { upgrades: [failing] }), (e) => isTandemError(e, 'DATA_DIR_INVALID') &&
    /from store format 4 to 5 failed in step 1 \(test: every document record is read and written back\): disk on fire\. The directory is as it was before the upgrade\./.test((e as Error).message))
  assert.deepEqual(await state(dir), { format: undefined, file: null, marker: false, backup: false })
  const db = await Database.open(dir, { upgrades: [rewriteDocs()] })
  t.after(() => db.close())
  assert.equal(await storeOf(db).meta.get(REWRITTEN_KEY), RECORDS)
  assertAllThere(await readEverything(db))
})

test('a directory from a newer Tandem is refused with a message that says so, and not one byte of it changes', async (t) => {
  const dir = await tempDir(t)
  // Written by "Tandem with format 99": this code with steps up to 99 (a new store gets the last format).
  const newer = await Database.open(dir, { upgrades: emptyChain(99) })
  await newer.addCollections('type Notes { text: String! }')
  await newer.createDocument('Notes', { text: 'from the future' })
  await newer.close()
  const before = await filesOf(dir)
  assert.ok(before.has('/db/tandem-format.json'))
  const refused = (e: unknown): boolean => isTandemError(e, 'DATA_DIR_INVALID') &&
    new RegExp(`written by a newer Tandem \\(store format 99\\); this Tandem reads store formats up to ${STORE_FORMAT}\\. Update Tandem to open it\\.`).test((e as Error).message)
  await assert.rejects(Database.open(dir), refused)
  assert.deepEqual(await filesOf(dir), before, 'every file as it was, byte for byte')
  // The same refusal from the format kept in the store, should the file be gone.
  await rm(join(dir, 'db', 'tandem-format.json'))
  await assert.rejects(Database.open(dir), refused)
  // And it still opens in the newer Tandem.
  const back = await Database.open(dir, { upgrades: emptyChain(99) })
  t.after(() => back.close())
  assert.equal((await back.getCollection('Notes')).count, 1)
})

test('development formats 1 to 3 are refused with a message that says so', async (t) => {
  for (const format of [undefined, 2, 3]) {
    const dir = await tempDir(t)
    const db = await Database.open(dir)
    await db.addCollections('type Notes { text: String! }')
    await db.createDocument('Notes', { text: 'x' })
    if (format === undefined) await storeOf(db).meta.del('storeFormat') // format 1 kept no key
    else await storeOf(db).meta.put('storeFormat', format)
    await db.close()
    await assert.rejects(Database.open(dir), (e) => isTandemError(e, 'DATA_DIR_INVALID') &&
      new RegExp(`development version of Tandem that was never released \\(store format ${format ?? 1}\\); this Tandem upgrades store formats 4 and later\\. Move it aside`).test((e as Error).message))
    // Not left locked.
    const again = await openStore(join(dir, 'db')).catch((e: unknown) => e)
    assert.ok(isTandemError(again, 'DATA_DIR_INVALID'))
  }
})

test('the node logs the upgrade as it starts, and node.info shows it afterwards', async (t) => {
  const dir = await fixtureCopy(t)
  const lines: string[] = []
  const node = await TandemNode.start({ dataDir: dir, p2p: false, upgrades: [rewriteDocs()], log: (m) => lines.push(m) })
  t.after(() => node.stop())
  assert.ok(lines.some((l) => /Upgraded the data directory from store format 4 to 5/.test(l)), lines.join('\n'))
  const info = await createApi(node).call('node.info', {})
  assert.ok(info.ok)
  const { lastUpgrade } = info.result as NodeInfo
  assert.ok(lastUpgrade !== null)
  assert.deepEqual([lastUpgrade.from, lastUpgrade.to], [4, 5])
  assert.ok(typeof lastUpgrade.at === 'number' && typeof lastUpgrade.ms === 'number')
})
