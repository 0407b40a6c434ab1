/** Counters (@crdt(type: pncounter|pcounter)): concurrent increments add up, on real LevelDB. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Database } from '../../main/db/database.ts'
import { exactOf, numberOf } from '../../main/db/crdt.ts'
import { tempDir } from '../helpers/tmp.ts'
import { allBlocks } from '../helpers/replicas.ts'

const SDL = 'type Posts { title: String! likes: Int @crdt(type: pncounter) views: Int @crdt(type: pcounter) score: Float @crdt(type: pncounter) }'

test('concurrent increments on two devices add up; the start value is the create value', async (t) => {
  const a = await Database.open(await tempDir(t))
  const b = await Database.open(await tempDir(t))
  t.after(async () => { await a.close(); await b.close() })
  await a.addCollections(SDL)
  await b.addCollections(SDL)
  const id = await a.createDocument('Posts', { title: 'p', likes: 10, score: 0.1 })
  await b.applyBlocks(await allBlocks(a))
  await a.incrementDocument('Posts', id, 'likes', 3)
  await a.incrementDocument('Posts', id, 'score', 0.2)
  await b.incrementDocument('Posts', id, 'likes', -1)
  await b.incrementDocument('Posts', id, 'views', 5)
  await b.incrementDocument('Posts', id, 'score', 0.3)
  await b.applyBlocks(await allBlocks(a))
  await a.applyBlocks(await allBlocks(b))
  const da = await a.getDocument('Posts', id)
  const db = await b.getDocument('Posts', id)
  assert.deepEqual(da, db)
  assert.equal(da.fields.likes, 12)
  assert.equal(da.fields.views, 5)
  assert.equal(da.fields.score, 0.6, 'the exact sum 0.1 + 0.2 + 0.3, rounded once')
  assert.equal(da.conflicts, undefined, 'increments are never conflicts')
})

test('refusals: a plain update of a counter, a pcounter decrement, an increment of a non-counter, a counter on a String', async (t) => {
  const a = await Database.open(await tempDir(t))
  t.after(() => a.close())
  await a.addCollections(SDL)
  const id = await a.createDocument('Posts', { title: 'p' })
  const before = await a.history('Posts', id)
  await assert.rejects(a.updateDocument('Posts', id, { likes: 4 }), (e: Error & { code: string }) => e.code === 'INVALID_INPUT' && /increment/.test(e.message))
  await assert.rejects(a.incrementDocument('Posts', id, 'views', -1), { code: 'INVALID_INPUT' })
  await assert.rejects(a.incrementDocument('Posts', id, 'title', 1), (e: Error & { code: string }) => e.code === 'INVALID_INPUT' && /not a counter/.test(e.message))
  await assert.rejects(a.incrementDocument('Posts', id, 'likes', 1.5), { code: 'WRONG_TYPE' })
  await assert.rejects(a.addCollections('type Bad { name: String @crdt(type: pncounter) }'), (e: Error & { code: string }) => e.code === 'SCHEMA_INVALID' && /Int or a Float/.test(e.message))
  await assert.rejects(a.addCollections('type Bad { n: Int @crdt(type: gcounter) }'), { code: 'SCHEMA_INVALID' })
  await assert.rejects(a.updateCollection('type Posts { title: String! likes: Int views: Int @crdt(type: pcounter) score: Float @crdt(type: pncounter) }'), { code: 'SCHEMA_INCOMPATIBLE' })
  assert.deepEqual(await a.history('Posts', id), before, 'nothing written')
  assert.equal((await a.listCollections()).length, 1)
})

test('a Float counter\'s exact sum does not depend on the order of the terms', () => {
  fc.assert(fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }), { minLength: 1, maxLength: 8 }), (xs) => {
    const sum = (list: number[]): number => numberOf(list.reduce((s, x) => s + exactOf(x), 0n))
    assert.equal(sum(xs), sum([...xs].reverse()))
    for (const x of xs) assert.equal(numberOf(exactOf(x)), x === 0 ? 0 : x)
  }), { numRuns: 500, seed: 20261204 })
})

test('a counter added to existing documents starts at its default on every device, and increments add to it', async (t) => {
  const a = await Database.open(await tempDir(t))
  const b = await Database.open(await tempDir(t))
  t.after(async () => { await a.close(); await b.close() })
  await a.addCollections('type Posts { title: String! }')
  const old = await a.createDocument('Posts', { title: 'written before the counters' })
  await a.updateCollection('type Posts { title: String! likes: Int @crdt(type: pncounter) @default(value: 10) score: Float @crdt(type: pncounter) @default(value: 0.1) views: Int @crdt(type: pcounter) }')
  const coll = (await a.getCollection('Posts')).id
  await b.addCollections('type Posts { title: String! }')
  // The version with the counters travels (it was refused as malformed: its fields' `crdt`).
  assert.equal(await b.importVersions(a.schemaVersions(coll), a.deviceID), 1)
  await b.applyBlocks(await allBlocks(a))
  assert.deepEqual((await a.getDocument('Posts', old)).fields, { title: 'written before the counters', likes: 10, score: 0.1, views: null })
  await a.incrementDocument('Posts', old, 'likes', 3)
  await a.incrementDocument('Posts', old, 'score', 0.2)
  await b.incrementDocument('Posts', old, 'likes', -1)
  await b.incrementDocument('Posts', old, 'views', 2)
  await b.applyBlocks(await allBlocks(a))
  await a.applyBlocks(await allBlocks(b))
  const da = await a.getDocument('Posts', old)
  assert.deepEqual(da, await b.getDocument('Posts', old))
  assert.equal(da.fields.likes, 12, '10 + 3 − 1')
  assert.equal(da.fields.score, numberOf(exactOf(0.1) + exactOf(0.2)), 'the default 0.1 and the increment 0.2, summed exactly and rounded once')
  assert.equal(da.fields.views, 2, 'no default: from 0')
  // Filters see what reads show.
  assert.equal((await a.listDocuments('Posts', { filter: { likes: { _eq: 12 } } })).total, 1)
  // A document created now starts at the value it was given, or at the default, as before.
  const fresh = await a.createDocument('Posts', { title: 'new' })
  await a.incrementDocument('Posts', fresh, 'likes', 1)
  const given = await a.createDocument('Posts', { title: 'given', likes: 0 })
  await a.incrementDocument('Posts', given, 'likes', 1)
  assert.equal((await a.getDocument('Posts', fresh)).fields.likes, 11)
  assert.equal((await a.getDocument('Posts', given)).fields.likes, 1)
})
