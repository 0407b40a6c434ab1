/**
 * The storage the database hands to the parts above it (namespace.ts, outbox.ts): typed
 * namespaces and settings, read-modify-writes that no commit interleaves with, and the replication
 * outbox filled inside the commits that apply blocks. Real LevelDB, reopened where it matters.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Database, storeOf } from '../../main/db/database.ts'
import { verifyBlock } from '../../main/db/block.ts'
import type { BlockCID } from '../../shared/types.ts'
import { tempDir } from '../helpers/tmp.ts'

interface Thing { id: string; n: number }

test('a namespace keeps typed values across a reopen; the store keeps its own sublevels and keys', async (t) => {
  const dir = await tempDir(t)
  let db = await Database.open(dir)
  const things = db.namespace<Thing>('things')
  await things.put('b', { id: 'b', n: 2 })
  await things.put('a', { id: 'a', n: 1 })
  await things.put('c', { id: 'c', n: 3 })
  await things.del('c')
  const epoch = db.setting<number>('group.epoch')
  await epoch.put(7)
  await db.close()

  db = await Database.open(dir)
  t.after(() => db.close())
  const again = db.namespace<Thing>('things')
  assert.deepEqual(await again.get('a'), { id: 'a', n: 1 })
  assert.equal(await again.get('c'), undefined)
  const all: Thing[] = []
  for await (const v of again.values()) all.push(v)
  assert.deepEqual(all, [{ id: 'a', n: 1 }, { id: 'b', n: 2 }], 'in key order')
  assert.equal(await db.setting<number>('group.epoch').get(), 7)
  assert.equal(await storeOf(db).meta.get('group.epoch'), 7, 'settings are where group.ts keeps them today')
  for (const name of ['blocks', 'docs', 'outbox', 'meta', 'Bad!', '']) assert.throws(() => db.namespace(name), new RegExp(`cannot name a namespace`))
  for (const key of ['storeFormat', 'outbox.seq']) assert.throws(() => db.setting(key), /store's own key/)
})

test('transact: staged writes land together, after-commit memory updates run, and an async stage is refused', async (t) => {
  const db = await Database.open(await tempDir(t))
  t.after(() => db.close())
  const things = db.namespace<Thing>('things')
  const epoch = db.setting<number>('group.epoch')
  const mirror = new Map<string, Thing>()
  await db.transact((tx) => {
    tx.put(things, 'a', { id: 'a', n: 1 })
    tx.put(things, 'b', { id: 'b', n: 2 })
    tx.set(epoch, 3)
    tx.afterCommit(() => mirror.set('a', { id: 'a', n: 1 }))
  })
  assert.deepEqual(await things.get('b'), { id: 'b', n: 2 })
  assert.equal(await epoch.get(), 3)
  assert.equal(mirror.size, 1)
  // A stage that throws writes nothing, and its after-commit callbacks do not run.
  await assert.rejects(db.transact((tx) => {
    tx.del(things, 'a')
    tx.afterCommit(() => mirror.clear())
    throw new Error('no')
  }), /no/)
  assert.deepEqual(await things.get('a'), { id: 'a', n: 1 })
  assert.equal(mirror.size, 1)
  await assert.rejects(db.transact((async () => {}) as never), /synchronous/)
})

test('the outbox: routes fill it inside the commit, peek/ack drain it, counts and order survive a reopen, a drop empties it', async (t) => {
  const dir = await tempDir(t)
  let db = await Database.open(dir)
  await db.addCollections('type Notes { title: String! }')
  const [alice, bob] = ['target-a', 'target-b']
  const seen: Array<{ n: number; origin: string }> = []
  const off = db.outbox.route((applied, origin) => {
    seen.push({ n: applied.length, origin })
    return [[alice, applied.map((a) => a.cid)], [bob, applied.slice(0, 1).map((a) => a.cid)]]
  })
  const ids = await db.createDocuments('Notes', [{ title: 'one' }, { title: 'two' }, { title: 'three' }])
  assert.deepEqual(seen, [{ n: 3, origin: 'local' }])
  assert.equal(db.outbox.count(alice), 3, 'counted as soon as the commit is written')
  assert.equal(db.outbox.count(bob), 1)
  const first = await db.outbox.peek(alice, 2)
  assert.equal(first.length, 2)
  await db.outbox.ack(alice, first)
  assert.equal(db.outbox.count(alice), 1)
  off()
  await db.updateDocument('Notes', ids[0]!, { title: 'one again' })
  assert.equal(db.outbox.count(alice), 1, 'a removed route adds nothing')
  await db.close()

  db = await Database.open(dir)
  t.after(() => db.close())
  assert.equal(db.outbox.count(alice), 1)
  assert.equal(db.outbox.count(bob), 1)
  const heads = new Set((await Promise.all(ids.map((id) => db.getDocument('Notes', id)))).map((d) => d.heads[0]!))
  db.outbox.route((applied) => [[alice, applied.map((a) => a.cid)]])
  const edited = await db.updateDocument('Notes', ids[1]!, { title: 'two again' })
  const left = await db.outbox.peek(alice, 10)
  assert.equal(left.length, 2)
  assert.ok(heads.has(left[0]!.cid), 'what was queued before the reopen comes first')
  assert.equal(left[1]!.cid, edited.heads[0] as BlockCID, 'the sequence goes on after a reopen')
  // Removing a replicator: its record and its outbox go in one commit.
  const records = db.namespace<{ target: string }>('replicators')
  await records.put(alice, { target: alice })
  await db.transact((tx) => { tx.del(records, alice); tx.dropOutbox(alice) })
  assert.equal(await records.get(alice), undefined)
  assert.equal(db.outbox.count(alice), 0)
  assert.deepEqual(await db.outbox.peek(alice, 10), [])
  assert.equal(db.outbox.count(bob), 1, 'other targets keep theirs')
  assert.deepEqual(await storeOf(db).outbox.keys({ gte: `q!${alice}!`, lt: `q!${alice}!\xff` }).all(), [])
})

test('allBlocks yields every stored block with its CID', async (t) => {
  const db = await Database.open(await tempDir(t))
  t.after(() => db.close())
  await db.addCollections('type Notes { title: String! }')
  const ids = await db.createDocuments('Notes', Array.from({ length: 1500 }, (_, i) => ({ title: `n${i}` })))
  await db.updateDocument('Notes', ids[0]!, { title: 'changed' })
  const blocks: Array<{ cid: string; bytes: Uint8Array }> = []
  for await (const b of db.allBlocks()) blocks.push(b)
  const stored = await storeOf(db).blocks.keys().all()
  assert.equal(blocks.length, 1501)
  assert.deepEqual(blocks.map((b) => b.cid), stored)
  // Each comes back whole (lean ones with their signature and proof): it verifies alone, under its CID.
  for (const b of blocks) assert.equal((await verifyBlock(b.bytes, b.cid)).id, b.cid)
  // Leaving early closes the iterator (the database still closes cleanly after).
  for await (const _ of db.allBlocks()) break
})
