import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Database, storeOf } from '../../main/db/database.ts'
import { BUCKETS, BUCKET_BYTES, bucketOf, entryHash, entryHashLatin1, xorInto, emptyBuckets } from '../../main/db/digest.ts'
import { Store } from '../../main/db/store.ts'
import { openStore } from '../../main/db/upgrade.ts'
import { isTandemError } from '../../shared/errors.ts'
import type { BlockCID, CollectionID } from '../../shared/types.ts'
import { tempDir } from '../helpers/tmp.ts'

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1')

test('blind xor and add updates: reads see them, commits fold them into the stored values', async (t) => {
  const store = await Store.open(`${await tempDir(t)}/db`)
  t.after(() => store.close())
  const h1 = createHash('sha256').update('one').digest()
  const h2 = createHash('sha256').update('two').digest()
  const x = store.txn()
  x.xor(store.digests, 'k', latin1(h1))
  x.add(store.counts, 'c', 2)
  x.add(store.counts, 'c', 3)
  await x.commit()
  assert.deepEqual(Buffer.from((await store.digests.get('k'))!), h1)
  assert.equal(await store.counts.get('c'), 5)

  const y = store.txn()
  y.xor(store.digests, 'k', latin1(h2))
  y.xor(store.digests, 'fresh', latin1(h2))
  y.add(store.counts, 'c', -1)
  // A read in the transaction sees the stored value with the pending updates folded in…
  assert.equal(await y.get(store.counts, 'c'), 4)
  const both = Buffer.from(h1.map((b, i) => b ^ h2[i]!))
  assert.deepEqual(Buffer.from((await y.get(store.digests, 'k'))!), both)
  // …and updates after that read still apply on top of it.
  y.add(store.counts, 'c', 10)
  y.xor(store.digests, 'k', latin1(h1))
  assert.equal(await store.counts.get('c'), 5) // nothing written before the commit
  await y.commit()
  assert.equal(await store.counts.get('c'), 14)
  assert.deepEqual(Buffer.from((await store.digests.get('k'))!), h2)
  assert.deepEqual(Buffer.from((await store.digests.get('fresh'))!), h2)
})

test('bucket digests and counts stay equal to a recomputation from the heads across commits', async (t) => {
  const db = await Database.open(await tempDir(t))
  t.after(() => db.close())
  const [col] = await db.addCollections('type Notes { title: String! n: Int }')
  const id = col!.id as CollectionID
  const ids = await db.createDocuments('Notes', Array.from({ length: 700 }, (_, i) => ({ title: `n${i}` })))
  ids.push(await db.createDocument('Notes', { title: 'single' }))
  for (const d of ids.slice(0, 40)) await db.updateDocument('Notes', d, { n: 1 })
  for (const d of ids.slice(30, 50)) await db.deleteDocument('Notes', d)
  await db.restoreDocument('Notes', ids[31]!)
  const expected = emptyBuckets()
  const all = await db.bucketHeads(id, Array.from({ length: BUCKETS }, (_, i) => i))
  assert.equal(all.length, ids.length)
  for (const { docID, heads } of all) {
    xorInto(expected, bucketOf(docID), entryHash(docID, heads))
    assert.deepEqual(Buffer.from(entryHashLatin1(docID, heads), 'latin1'), Buffer.from(entryHash(docID, heads)))
  }
  assert.deepEqual(Buffer.from(await db.bucketDigests(id)), Buffer.from(expected))
  assert.equal(expected.length, BUCKETS * BUCKET_BYTES)
  assert.equal((await db.getCollection('Notes')).count, ids.length - 19)
})

test('a data directory in another store format is refused with a clear error', async (t) => {
  const dir = await tempDir(t)
  const db = await Database.open(dir)
  await db.addCollections('type Notes { title: String! }')
  await db.createDocument('Notes', { title: 'x' })
  await storeOf(db).meta.put('storeFormat', 1)
  await db.close()
  await assert.rejects(Database.open(dir), (e) => isTandemError(e, 'DATA_DIR_INVALID') && /store format 1/.test((e as Error).message))
  const again = await openStore(`${dir}/db`).catch((e: unknown) => e) // and the directory is not left locked
  assert.ok(isTandemError(again, 'DATA_DIR_INVALID'))
})

test('records are stored by bucket in their compact form and read back whole (store format 4)', async (t) => {
  const store = await Store.open(`${await tempDir(t)}/db`)
  t.after(() => store.close())
  const a = `b${'a'.repeat(58)}`
  const b = `b${'b'.repeat(58)}`
  const c = `b${'c'.repeat(58)}`
  const docID = `bae-${a}`
  // Two heads, one of them not in the stamp table (a concurrent block that won no field).
  const rec = { v: { title: 'x', tags: ['p', 'q'] }, w: { title: [2, 1] as [number, number], tags: [1, 0] as [number, number] }, c: [a, b] as BlockCID[], heads: [b, c] as BlockCID[], h: 2, deleted: true, createdAt: 5, updatedAt: 9 }
  const txn = store.txn()
  txn.put(store.docs, `coll!${docID}`, rec)
  await txn.commit()
  assert.deepEqual(await store.docs.get(`coll!${docID}`), rec)
  assert.deepEqual(await store.docs.keys().all(), [`coll!${docID}`])
  const [stored, text] = (await store.docsByBucket.iterator().all())[0]!
  assert.equal(stored, `coll!${bucketOf(docID).toString(16).padStart(2, '0')}!${docID}`)
  assert.deepEqual(JSON.parse(text)[3], [1, c], 'a head in the stamp table is its index there')
  assert.ok(text.length < JSON.stringify(rec).length - 60)
  // A collection's range still brackets every bucket.
  assert.equal((await store.docs.iterator({ gte: 'coll!', lt: 'coll!\xff' }).all()).length, 1)
})

test('a store closed after writes leaves its log empty, so the next open replays nothing, and keeps every write', async (t) => {
  const dir = await tempDir(t)
  const logBytes = async (): Promise<number> => {
    let sum = 0
    for (const f of await readdir(join(dir, 'db'))) if (f.endsWith('.log')) sum += (await stat(join(dir, 'db', f))).size
    return sum
  }
  let db = await Database.open(dir)
  await db.addCollections('type Books { title: String! pages: Int }')
  const ids = await db.createDocuments('Books', Array.from({ length: 2000 }, (_, i) => ({ title: `Book ${i}`, pages: i })))
  assert.ok((await logBytes()) > 100_000, 'the writes are in the log while the store is open')
  await db.close()
  assert.equal(await logBytes(), 0)
  db = await Database.open(dir)
  t.after(() => db.close())
  assert.equal((await db.getCollection('Books')).count, 2000)
  assert.equal((await db.getDocument('Books', ids[1999]!)).fields.pages, 1999)
})
