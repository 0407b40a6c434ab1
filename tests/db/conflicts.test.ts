/**
 * Conflicts: concurrent maximal writes of a field, shown beside the winner, settled by a later write
 * on top of them. Two real LevelDB databases exchanging blocks as sync does.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Database } from '../../main/db/database.ts'
import { tempDir } from '../helpers/tmp.ts'
import { allBlocks } from '../helpers/replicas.ts'

const SDL = 'type Notes { title: String! body: String n: Int }'

async function pair(t: Parameters<typeof tempDir>[0]): Promise<[Database, Database]> {
  const a = await Database.open(await tempDir(t))
  const b = await Database.open(await tempDir(t))
  t.after(async () => { await a.close(); await b.close() })
  await a.addCollections(SDL)
  await b.addCollections(SDL)
  return [a, b]
}

async function exchange(a: Database, b: Database): Promise<void> {
  await b.applyBlocks(await allBlocks(a))
  await a.applyBlocks(await allBlocks(b))
}

test('offline edits of the same field: the same winner and the same conflict on both; one-sided fields are none', async (t) => {
  const [a, b] = await pair(t)
  const id = await a.createDocument('Notes', { title: 'x', body: 'start' })
  await exchange(a, b)
  await a.updateDocument('Notes', id, { body: 'from a', n: 1 })
  await a.updateDocument('Notes', id, { body: 'from a, again' })
  await b.updateDocument('Notes', id, { body: 'from b' })
  await b.updateDocument('Notes', id, { title: 'only b' })
  const events: string[] = []
  a.on('change', (e) => { if (e.conflicts !== undefined) events.push(`a:${e.conflicts}`) })
  b.on('change', (e) => { if (e.conflicts !== undefined) events.push(`b:${e.conflicts}`) })
  await exchange(a, b)
  const da = await a.getDocument('Notes', id)
  const db = await b.getDocument('Notes', id)
  assert.deepEqual(da, db)
  assert.deepEqual(Object.keys(da.conflicts ?? {}), ['body'], 'n and title were edited on one side only')
  const values = [da.fields.body, da.conflicts!.body![0]!.value].sort()
  assert.deepEqual(values, ['from a, again', 'from b'])
  assert.equal(da.conflicts!.body!.length, 1)
  assert.equal(da.conflicts!.body![0]!.device, da.conflicts!.body![0]!.value === 'from b' ? b.deviceID : a.deviceID)
  assert.deepEqual(events.sort(), ['a:appeared', 'b:appeared'])
  assert.equal(await a.conflictCount('Notes'), 1)
  assert.deepEqual((await a.listDocuments('Notes', { conflicts: true })).total, 1)

  // Resolve on b picking the loser: the value is written on top; cleared on both after sync.
  const loser = da.conflicts!.body![0]!
  const resolved = await b.resolveConflict('Notes', id, 'body', loser.cid)
  assert.equal(resolved.fields.body, loser.value)
  assert.equal(resolved.conflicts, undefined)
  await exchange(a, b)
  assert.equal((await a.getDocument('Notes', id)).conflicts, undefined)
  assert.equal((await a.getDocument('Notes', id)).fields.body, loser.value)
  assert.equal(await a.conflictCount('Notes'), 0)
  assert.equal((await b.listDocuments('Notes', { conflicts: true })).total, 0)
  assert.ok(events.includes('a:cleared') && events.includes('b:cleared'))
})

test('a merge block that does not set the field leaves its conflict; an ordinary update of it settles it', async (t) => {
  const [a, b] = await pair(t)
  const id = await a.createDocument('Notes', { title: 'x' })
  await exchange(a, b)
  await a.updateDocument('Notes', id, { body: 'a' })
  await b.updateDocument('Notes', id, { body: 'b' })
  await exchange(a, b)
  await a.updateDocument('Notes', id, { n: 5 }) // on top of both, body untouched
  await exchange(a, b)
  assert.deepEqual(Object.keys((await b.getDocument('Notes', id)).conflicts ?? {}), ['body'])
  await b.updateDocument('Notes', id, { body: 'settled' })
  await exchange(a, b)
  assert.equal((await a.getDocument('Notes', id)).conflicts, undefined)
})

test('three-way conflict: a write on top of two of them leaves two maximal writes', async (t) => {
  const [a, b] = await pair(t)
  const c = await Database.open(await tempDir(t))
  t.after(() => c.close())
  await c.addCollections(SDL)
  const id = await a.createDocument('Notes', { title: 'x' })
  await exchange(a, b)
  await c.applyBlocks(await allBlocks(a))
  await a.updateDocument('Notes', id, { body: 'a' })
  await b.updateDocument('Notes', id, { body: 'b' })
  await c.updateDocument('Notes', id, { body: 'c' })
  await exchange(a, b) // a and b: 2 maximal writes
  await a.updateDocument('Notes', id, { body: 'a settles a and b' })
  await c.applyBlocks(await allBlocks(a))
  const doc = await c.getDocument('Notes', id)
  assert.equal(doc.conflicts?.body?.length, 1)
  assert.deepEqual([doc.fields.body, doc.conflicts!.body![0]!.value].sort(), ['a settles a and b', 'c'])
})

test('a delete concurrent with an edit: the document stays deleted, the edit is merged and shown as a _deleted conflict', async (t) => {
  const [a, b] = await pair(t)
  const id = await a.createDocument('Notes', { title: 'x', body: 'old' })
  await exchange(a, b)
  await a.deleteDocument('Notes', id)
  await b.updateDocument('Notes', id, { body: 'edited meanwhile' })
  await exchange(a, b)
  for (const db of [a, b]) {
    const doc = await db.getDocument('Notes', id)
    assert.equal(doc.deleted, true)
    assert.equal(doc.fields.body, 'edited meanwhile')
    assert.equal(doc.conflicts?._deleted?.length, 1)
    assert.deepEqual(doc.conflicts!._deleted![0]!.fields, { body: 'edited meanwhile' })
    assert.equal(doc.conflicts!._deleted![0]!.value, false)
    assert.equal(doc.conflicts!._deleted![0]!.device, b.deviceID)
  }
  // Keeping the edit restores the document; the other device sees it alive with no conflict.
  const pick = (await a.getDocument('Notes', id)).conflicts!._deleted![0]!.cid
  const kept = await a.resolveConflict('Notes', id, '_deleted', pick)
  assert.equal(kept.deleted, false)
  await exchange(a, b)
  const after = await b.getDocument('Notes', id)
  assert.equal(after.deleted, false)
  assert.equal(after.conflicts, undefined)
})

test('resolve refuses an unknown CID and a field without a conflict, writing nothing', async (t) => {
  const [a, b] = await pair(t)
  const id = await a.createDocument('Notes', { title: 'x' })
  await exchange(a, b)
  await a.updateDocument('Notes', id, { body: 'a' })
  await b.updateDocument('Notes', id, { body: 'b' })
  await exchange(a, b)
  const before = await a.getDocument('Notes', id)
  await assert.rejects(a.resolveConflict('Notes', id, 'body', 'bafynotacid'), { code: 'NOT_FOUND' })
  await assert.rejects(a.resolveConflict('Notes', id, 'title', 'winner'), { code: 'NOT_FOUND' })
  assert.deepEqual(await a.getDocument('Notes', id), before)
  const w = await a.resolveConflict('Notes', id, 'body', 'winner')
  assert.equal(w.fields.body, before.fields.body)
  assert.equal(w.conflicts, undefined)
})
