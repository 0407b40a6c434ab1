import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Database } from '../../main/db/database.ts'
import { BUCKETS, bucketDigest, bucketOf } from '../../main/db/digest.ts'
import type { CollectionID } from '../../shared/types.ts'
import { tempDir } from '../helpers/tmp.ts'
import { allBlocks } from '../helpers/replicas.ts'

test('equal blocks give equal digests; one edit changes exactly its bucket', async (t) => {
  const a = await Database.open(await tempDir(t))
  const b = await Database.open(await tempDir(t))
  t.after(async () => { await a.close(); await b.close() })
  const [col] = await a.addCollections('type Notes { title: String! }')
  const id = col!.id as CollectionID
  const ids = await a.createDocuments('Notes', Array.from({ length: 300 }, (_, i) => ({ title: `n${i}` })))
  assert.equal(await b.importCollection(id, a.collectionSDL(id)!), true)
  await b.applyBlocks(await allBlocks(a))
  assert.deepEqual(await b.collectionDigests(), await a.collectionDigests())

  await a.updateDocument('Notes', ids[7]!, { title: 'changed' })
  assert.notDeepEqual((await a.collectionDigests()).get(id), (await b.collectionDigests()).get(id))
  const ba = await a.bucketDigests(id)
  const bb = await b.bucketDigests(id)
  const differing = Array.from({ length: BUCKETS }, (_, i) => i)
    .filter((i) => Buffer.compare(bucketDigest(ba, i), bucketDigest(bb, i)) !== 0)
  assert.deepEqual(differing, [bucketOf(ids[7]!)])
  const heads = await a.bucketHeads(id, differing)
  assert.ok(heads.some((h) => h.docID === ids[7] && h.heads.length === 1))
  assert.deepEqual(heads.find((h) => h.docID === ids[7])!.heads, await a.documentHeads(id, ids[7]!))
})

test('a collection is imported only with an SDL that matches its ID, and never over a different one', async (t) => {
  const a = await Database.open(await tempDir(t))
  t.after(() => a.close())
  const [col] = await a.addCollections('type Notes { title: String! }')
  await assert.rejects(a.importCollection(col!.id, 'type Notes { title: String }'), /does not match its ID/)
  assert.equal(await a.importCollection(col!.id, a.collectionSDL(col!.id)!), false)
  const other = await Database.open(await tempDir(t))
  t.after(() => other.close())
  const [theirs] = await other.addCollections('type Notes { body: String }')
  await assert.rejects(a.importCollection(theirs!.id, other.collectionSDL(theirs!.id)!), /different schema/)
})
