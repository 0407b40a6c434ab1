/**
 * The 6 → 7 upgrade (main/db/upgrades/0007-lean-blocks.ts) on the committed format-6 fixture
 * (tests/fixtures/store-v6/, made by tests/fixtures/make-store-v6.ts with the code of format 6):
 * every document, history, conflict, version and outbox entry as format 6 read them; every block
 * back whole, byte for byte (it verifies under its CID); the blocks of signed batches lean, and
 * the blocks take less room. A kill during the upgrade loses nothing.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { cp, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Database, storeOf } from '../../main/db/database.ts'
import { Store } from '../../main/db/store.ts'
import { verifyBlock } from '../../main/db/block.ts'
import { isLean } from '../../main/db/lean-block.ts'
import { step } from '../../main/db/upgrades/0007-lean-blocks.ts'
import { STORE_FORMAT } from '../../main/db/upgrades/index.ts'
import type { DeviceID, DocumentView, HistoryEntry } from '../../shared/types.ts'
import { tempDir } from '../helpers/tmp.ts'

const FIXTURE = fileURLToPath(new URL('../fixtures/store-v6/', import.meta.url))
const RUNNER = fileURLToPath(new URL('./fixtures/upgrade-runner.ts', import.meta.url))
const expected = JSON.parse(await readFile(fileURLToPath(new URL('../fixtures/store-v6.json', import.meta.url)), 'utf8')) as {
  deviceID: string
  laptopID: string
  collections: Array<{ id: string; name: string; count: number; version?: string }>
  documents: Record<string, DocumentView[]>
  histories: Record<string, HistoryEntry[]>
  conflicts: { docID: string; conflicts: unknown }
  blocks: string[]
  outbox: { target: string; pending: number; entries: unknown[] }
}

async function fixtureCopy(t: TestContext): Promise<string> {
  const dir = join(await tempDir(t), 'data')
  await cp(FIXTURE, dir, { recursive: true })
  return dir
}

/** Stored bytes of the blocks as they lie, and how many are lean. */
async function blockRoom(store: Store): Promise<{ bytes: number; lean: number; whole: number }> {
  let bytes = 0
  let lean = 0
  let whole = 0
  for await (const [, v] of store.blocks.iterator()) {
    bytes += v.length
    if (isLean(v)) lean++
    else whole++
  }
  for await (const [, v] of store.trees.iterator()) bytes += 64 + v.count * 32
  return { bytes, lean, whole }
}

async function assertAllThere(db: Database): Promise<void> {
  assert.equal(db.deviceID, expected.deviceID)
  assert.deepEqual((await db.listCollections()).map((c) => ({ id: c.id, name: c.name, count: c.count, version: c.version })),
    expected.collections.map((c) => ({ id: c.id, name: c.name, count: c.count, version: c.version })), 'collections and their versions')
  for (const name of ['Books', 'Tallies']) {
    const live = await db.listDocuments(name, { limit: 1000 })
    const deleted = await db.listDocuments(name, { deleted: true, limit: 1000 })
    const docs = [...live.docs, ...deleted.docs].sort((a, b) => (a.docID < b.docID ? -1 : 1))
    assert.deepEqual(docs, expected.documents[name], `every document of ${name}, deleted ones too`)
    for (const d of docs) assert.deepEqual(await db.history(name, d.docID), expected.histories[`${name}/${d.docID}`], `history of ${d.docID}`)
  }
  assert.deepEqual((await db.getDocument('Books', expected.conflicts.docID)).conflicts, expected.conflicts.conflicts, 'the conflict')
  const target = expected.outbox.target as DeviceID
  assert.deepEqual({ target, pending: db.outbox.count(target), entries: await db.outbox.peek(target, 1000) }, expected.outbox, "the replicator's outbox")
  // Every block comes back whole: the bytes verify alone under the CID they were stored as.
  const cids: string[] = []
  for await (const b of db.allBlocks()) {
    cids.push(b.cid)
    assert.equal((await verifyBlock(b.bytes, b.cid)).id, b.cid)
  }
  assert.deepEqual(cids, expected.blocks, 'every block')
  const got = await db.getBlocks(expected.blocks)
  for (let i = 0; i < got.length; i++) assert.equal((await verifyBlock(got[i]!, expected.blocks[i])).id, expected.blocks[i])
}

test('a format-6 data directory (the committed fixture) upgrades to lean blocks with every document, history, conflict and block', async (t) => {
  assert.equal(STORE_FORMAT, 7)
  const dir = await fixtureCopy(t)
  const before = await Store.open(join(dir, 'db'))
  const room6 = await blockRoom(before)
  await before.close()
  assert.equal(room6.lean, 0)

  const db = await Database.open(dir)
  t.after(() => db.close())
  assert.equal(await storeOf(db).meta.get('storeFormat'), 7)
  assert.deepEqual(db.lastUpgrade?.steps.map((s) => [s.from, s.to]), [[6, 7]])
  await assertAllThere(db)
  const room7 = await blockRoom(storeOf(db))
  // The desk's 150 (batches of 64, 64 and 22) and the laptop's 64 (received) are lean; the
  // laptop's batch of 6 (fewer than LEAN_MIN_BLOCKS) and the edits written alone are not.
  assert.equal(room7.lean, 214)
  assert.equal(room7.lean + room7.whole, expected.blocks.length)
  assert.ok(room7.bytes < room6.bytes * 0.75, `blocks: ${room6.bytes} → ${room7.bytes} bytes`)

  // Writing and reading on after the upgrade: a new batch (lean) and an edit, read back whole.
  const ids = await db.createDocuments('Books', Array.from({ length: 100 }, (_, i) => ({ title: `New ${i}` })))
  await db.updateDocument('Books', ids[0]!, { title: 'New 0, edited' })
  const heads = await db.documentHeads((await db.getCollection('Books')).id, ids[0]!)
  const bytes = await db.getBlock(heads[0]!)
  assert.equal((await verifyBlock(bytes!, heads[0])).id, heads[0])
  assert.equal((await db.getDocument('Books', ids[0]!)).fields.title, 'New 0, edited')
})

test('0007 run again on an upgraded store changes nothing', async (t) => {
  const dir = await fixtureCopy(t)
  await (await Database.open(dir)).close()
  const store = await Store.open(join(dir, 'db'))
  t.after(() => store.close())
  const snapshot = async (): Promise<string[]> => (await store.db.iterator({ keyEncoding: 'utf8', valueEncoding: 'hex' } as never).all()).map(([k, v]) => `${String(k)}=${String(v)}`)
  const first = await snapshot()
  const logs: string[] = []
  await step.run({ store, txn: () => store.txn(), batch: () => store.db.batch(), progress: () => {}, log: (m) => logs.push(m) })
  assert.match(logs[0]!, /lean blocks: 0 of 234 blocks/)
  assert.deepEqual(await snapshot(), first)
})

test('SIGKILL after the lean-blocks step, before the new format is written: the next start restores the copy and upgrades again', async (t) => {
  const dir = await fixtureCopy(t)
  const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, dir, 'real', 'log:lean blocks:'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    child.on('error', reject)
    child.on('close', (code, sig) => (sig === 'SIGKILL' ? resolve(sig) : reject(new Error(`not killed (code ${code}):\n${stderr}`))))
  })
  assert.equal(signal, 'SIGKILL')
  const lines: string[] = []
  const db = await Database.open(dir, { log: (m) => lines.push(m) })
  t.after(() => db.close())
  assert.ok(lines.some((l) => /did not finish: restoring the copy/.test(l)), lines.join('\n'))
  assert.equal(await storeOf(db).meta.get('storeFormat'), 7)
  await assertAllThere(db)
})
