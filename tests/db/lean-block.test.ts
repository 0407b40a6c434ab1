/**
 * Blocks stored lean (main/db/lean-block.ts, stored-blocks.ts): a signed batch's signature and
 * proof nodes once, in `trees`; every block read back whole, byte for byte (it verifies alone under
 * its CID), whatever the batch, however its blocks arrived.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Database, storeOf } from '../../main/db/database.ts'
import { verifyBlock } from '../../main/db/block.ts'
import { isLean, treeEncoding, treeKey, type SigTree } from '../../main/db/lean-block.ts'
import { BlockReader, LEAN_MIN_BLOCKS } from '../../main/db/stored-blocks.ts'
import { TandemError } from '../../shared/errors.ts'
import { allBlocks } from '../helpers/replicas.ts'
import { tempDir } from '../helpers/tmp.ts'

const SDL = 'type Notes { title: String! body: String n: Int tags: [String] }'

/** A database with the Notes collection, closed after the test (unless `closeAfter` is false). */
async function notes(t: TestContext, dir?: string, closeAfter = true): Promise<Database> {
  const db = await Database.open(dir ?? await tempDir(t))
  if (closeAfter) t.after(() => db.close())
  await db.addCollections(SDL)
  return db
}

/** Every block of `db`: stored lean or whole as expected, read back whole and verified. */
async function checkAll(db: Database): Promise<{ lean: number; whole: number }> {
  const store = storeOf(db)
  let lean = 0
  let whole = 0
  const cids: string[] = []
  for await (const [cid, v] of store.blocks.iterator()) {
    cids.push(cid)
    if (isLean(v)) lean++
    else whole++
  }
  const got = await db.getBlocks(cids)
  for (let i = 0; i < cids.length; i++) assert.equal((await verifyBlock(got[i]!, cids[i])).id, cids[i], `block ${cids[i]} comes back whole`)
  return { lean, whole }
}

test('a batch is stored lean and read back whole; a change written alone, or in a pair, stays whole', async (t) => {
  const db = await Database.open(await tempDir(t))
  t.after(() => db.close())
  await db.addCollections(SDL)
  await db.createDocuments('Notes', Array.from({ length: 130 }, (_, i) => ({ title: `n${i}`, body: 'x'.repeat(i), tags: [`t${i}`] })))
  // Batches of 64, 64 and 2: the pair's proofs are one step, not worth a reference.
  assert.deepEqual(await checkAll(db), { lean: 128, whole: 2 })
  const one = await db.createDocument('Notes', { title: 'alone' })
  await db.updateDocument('Notes', one, { n: 1 })
  await db.createDocuments('Notes', [{ title: 'pair 1' }, { title: 'pair 2' }])
  assert.deepEqual(await checkAll(db), { lean: 128, whole: 6 })
  // Two trees, each with its signature and every node of the batch's tree but the root, once.
  const trees = await storeOf(db).trees.values().all()
  assert.deepEqual(trees.map((tr) => tr.count), [126, 126])
})

test('any documents, in batches of any size, come back byte for byte (property)', async (t) => {
  const db = await Database.open(await tempDir(t))
  t.after(() => db.close())
  await db.addCollections(SDL)
  const doc = fc.record({
    title: fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }),
    body: fc.option(fc.string({ maxLength: 300, unit: 'binary' }), { nil: undefined }),
    n: fc.option(fc.integer(), { nil: undefined }),
    tags: fc.option(fc.array(fc.string({ maxLength: 10 }), { maxLength: 5 }), { nil: undefined }),
  }, { requiredKeys: ['title'] })
  await fc.assert(fc.asyncProperty(fc.array(doc, { minLength: 1, maxLength: 140 }), async (docs) => {
    const ids = await db.createDocuments('Notes', docs)
    await db.updateDocument('Notes', ids[0]!, { n: 7 })
    const heads = await db.documentHeads((await db.getCollection('Notes')).id, ids[0]!)
    for (const cid of heads) assert.equal((await verifyBlock((await db.getBlock(cid))!, cid)).id, cid)
  }), { numRuns: 25 })
  const { lean, whole } = await checkAll(db)
  assert.ok(lean > 0 && whole > 0)
})

test('a batch received in parts: the first part lean with its tree, the later ones whole (a stored tree is never rewritten), every block read back whole', async (t) => {
  const [a, b] = [await notes(t), await notes(t)]
  await a.createDocuments('Notes', Array.from({ length: 64 }, (_, i) => ({ title: `n${i}` })))
  const blocks = await allBlocks(a)
  await b.applyBlocks(blocks.slice(0, 20))
  assert.equal((await verifyBlock((await b.getBlock(blocks[0]!.cid))!, blocks[0]!.cid)).id, blocks[0]!.cid)
  const tree = (await storeOf(b).trees.values().all())[0]!
  await b.applyBlocks(blocks.slice(20, 50))
  await b.applyBlocks(blocks.slice(50, 57))
  await b.applyBlocks(blocks.slice(57))
  assert.deepEqual(await checkAll(b), { lean: 20, whole: 44 })
  const trees = await storeOf(b).trees.values().all()
  assert.equal(trees.length, 1)
  assert.deepEqual(Buffer.from(treeEncodingBytes(trees[0]!)), Buffer.from(treeEncodingBytes(tree)), 'the tree as the first part left it')
})

test('blocks of a batch that arrive a few at a time stay whole: a tree for fewer than LEAN_MIN_BLOCKS would not be shorter', async (t) => {
  const [a, b] = [await notes(t), await notes(t)]
  await a.createDocuments('Notes', Array.from({ length: 64 }, (_, i) => ({ title: `n${i}` })))
  const blocks = await allBlocks(a)
  for (let i = 0; i < blocks.length; i += LEAN_MIN_BLOCKS - 1) await b.applyBlocks(blocks.slice(i, i + LEAN_MIN_BLOCKS - 1))
  assert.deepEqual(await checkAll(b), { lean: 0, whole: 64 })
  assert.equal((await storeOf(b).trees.keys().all()).length, 0)
})

test('a tree key already taken by another signature leaves the block whole; a lost tree is a clear error', async (t) => {
  const dirA = await tempDir(t)
  let a = await notes(t, dirA, false)
  t.after(() => a.close())
  const b = await notes(t)
  await a.createDocuments('Notes', Array.from({ length: 8 }, (_, i) => ({ title: `n${i}` })))
  const blocks = await allBlocks(a)
  const s = (await verifyBlock(blocks[0]!.bytes)).block.sig.s
  // Another signature with the same first 12 bytes (no honest batch makes one; a test can).
  const other = Uint8Array.from(s)
  other[63] = other[63]! ^ 0xff
  await storeOf(b).trees.put(treeKey(s), { s: other, nodes: new Uint8Array(0), count: 0 })
  await b.applyBlocks(blocks)
  assert.deepEqual(await checkAll(b), { lean: 0, whole: 8 })

  // On A the blocks are lean: without their tree they cannot come back whole, and say why.
  await storeOf(a).trees.del(treeKey(s))
  await a.close()
  a = await Database.open(dirA)
  await assert.rejects(a.getBlock(blocks[0]!.cid), (err: unknown) => err instanceof TandemError && err.code === 'DATA_DIR_INVALID' && /damaged/.test(err.message))
  // What only needs the content still reads: the document is there.
  assert.equal((await a.listDocuments('Notes')).total, 8)
})

test('one read of blocks from more batches than the reader caches brings every block back whole', async (t) => {
  const db = await Database.open(await tempDir(t))
  t.after(() => db.close())
  await db.addCollections(SDL)
  // Six batches of 8 (one createDocuments each), read in CID order (mixed), by a reader that caches two trees.
  for (let b = 0; b < 6; b++) await db.createDocuments('Notes', Array.from({ length: 8 }, (_, i) => ({ title: `b${b} n${i}` })))
  const store = storeOf(db)
  const entries = await store.blocks.iterator().all()
  const reader = new BlockReader(store, 2)
  for (let round = 0; round < 2; round++) {
    const whole = await reader.whole(entries.map(([, v]) => v))
    for (let i = 0; i < entries.length; i++) assert.equal((await verifyBlock(whole[i]!, entries[i]![0])).id, entries[i]![0])
  }
})

function treeEncodingBytes(tree: SigTree): Uint8Array {
  return treeEncoding.encode(tree)
}

test('a tree key is the base64url text of the signature\'s first 12 bytes, as stores of every version name it', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 80, maxLength: 80 }), fc.nat(16), (buf, at) => {
    const s = new Uint8Array(buf.buffer, buf.byteOffset + at, 64)
    assert.equal(treeKey(s), Buffer.from(buf.buffer, buf.byteOffset + at, 12).toString('base64url'))
  }), { numRuns: 2000 })
  assert.equal(treeKey(new Uint8Array(64)), 'AAAAAAAAAAAAAAAA')
  assert.equal(treeKey(new Uint8Array(64).fill(255)), '________________')
})
