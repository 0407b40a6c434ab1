/**
 * The 4 → 5 upgrade step (main/db/upgrades/0005-schema-versions.ts) on a store in today's format:
 * collections, documents and blocks as format 4 writes them, and no `versions` sublevel (format 4
 * never wrote one). Every collection gets its first version; documents, history and blocks are as before.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { Database, storeOf } from '../../main/db/database.ts'
import { Store } from '../../main/db/store.ts'
import { step } from '../../main/db/upgrades/0005-schema-versions.ts'
import { allBlocks, visibleState } from '../helpers/replicas.ts'
import { tempDir } from '../helpers/tmp.ts'

test('0005-schema-versions writes every collection’s schema as its first version and changes nothing else', async (t) => {
  const dir = await tempDir(t)
  const db = await Database.open(dir)
  await db.addCollections('type Books { title: String! pages: Int } type Notes { body: String tags: [String!] }')
  const ids = await db.createDocuments('Books', Array.from({ length: 30 }, (_, i) => ({ title: `b${i}`, pages: i })))
  await db.updateDocument('Books', ids[0]!, { pages: 999 })
  await db.createDocument('Notes', { body: 'n', tags: ['x'] })
  // Back to format 4: no version records at all.
  await storeOf(db).versions.clear()
  const before = { books: await visibleState(db, 'Books'), notes: await visibleState(db, 'Notes'), history: await db.history('Books', ids[0]!), blocks: await allBlocks(db) }
  const collections = await db.listCollections()
  await db.close()

  const store = await Store.open(join(dir, 'db'))
  assert.equal((await store.versions.keys().all()).length, 0)
  const progress: Array<[number, number]> = []
  const logs: string[] = []
  await step.run({ store, txn: () => store.txn(), batch: () => store.db.batch(), progress: (d, n) => progress.push([d, n]), log: (m) => logs.push(m) })
  assert.deepEqual(progress.at(-1), [2, 2])
  assert.match(logs[0]!, /2 collections/)
  const records = await store.versions.values().all()
  assert.equal(records.length, 2)
  for (const c of collections) {
    const v = records.find((r) => r.collection === c.id)!
    assert.equal(v.id, c.id, 'the first version has the collection ID')
    assert.deepEqual(v.parents, [])
    assert.deepEqual(v.fields, c.schema.fields)
  }
  await store.close()

  const again = await Database.open(dir)
  t.after(() => again.close())
  assert.deepEqual(await visibleState(again, 'Books'), before.books)
  assert.deepEqual(await visibleState(again, 'Notes'), before.notes)
  assert.deepEqual(await again.history('Books', ids[0]!), before.history)
  assert.deepEqual(await allBlocks(again), before.blocks)
  const books = await again.getCollection('Books')
  assert.equal(books.version, books.id)
  assert.equal(books.versions!.length, 1)
  // And the upgraded directory takes a new version on top of the first.
  await again.updateCollection('type Books { title: String! pages: Int rating: Int }')
  assert.equal((await again.getCollection('Books')).versions![1]!.parents[0], books.id)
})
