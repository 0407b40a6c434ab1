/**
 * A fault of this device while applying blocks from another (here: LevelDB failing to read a
 * document record, injected at the store's transaction through the test accessor) is not the
 * block's fault: the commit is abandoned, the caller gets the error, nothing is recorded as
 * rejected, and the same blocks apply once the store reads again. Only a block that fails its
 * checks is rejected.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Database, storeOf } from '../../main/db/database.ts'
import { Txn } from '../../main/db/store.ts'
import { isTandemError } from '../../shared/errors.ts'
import { tempDir } from '../helpers/tmp.ts'

const BOOKS = 'type Books { title: String! pages: Int }'

async function pair(t: TestContext): Promise<{ a: Database; b: Database }> {
  const a = await Database.open(await tempDir(t))
  const b = await Database.open(await tempDir(t))
  t.after(async () => { await a.close(); await b.close() })
  await a.addCollections(BOOKS)
  await b.addCollections(BOOKS)
  return { a, b }
}

/** Until the returned function is called, every read of a document record in `db`'s transactions fails as a disk would. */
function failDocReads(t: TestContext, db: Database): () => void {
  const docs = storeOf(db).docs as object
  const original = Object.getOwnPropertyDescriptor(Txn.prototype, 'get')!
  const restore = (): void => { Object.defineProperty(Txn.prototype, 'get', original) }
  t.after(restore)
  Object.defineProperty(Txn.prototype, 'get', {
    ...original,
    value(this: Txn, sub: object, key: string) {
      if (sub === docs) return Promise.reject(Object.assign(new Error('IO error: simulated read failure'), { code: 'LEVEL_IO_ERROR' }))
      return (original.value as (sub: object, key: string) => Promise<unknown>).call(this, sub, key)
    },
  })
  return restore
}

test('an I/O error while applying surfaces to the caller; the block is not rejected and applies later', async (t) => {
  const { a, b } = await pair(t)
  const id = await a.createDocument('Books', { title: 'Dune' })
  await a.updateDocument('Books', id, { pages: 412 })
  const [genesis, update] = await a.history('Books', id)
  const block = async (cid: string): Promise<{ cid: string; bytes: Uint8Array }> => ({ cid, bytes: (await a.getBlock(cid))! })
  assert.deepEqual((await b.applyBlocks([await block(genesis!.cid)])).map((r) => r.status), ['applied'])
  const rejected: string[] = []
  b.on('rejected', (ev) => rejected.push(ev.reason))

  const restore = failDocReads(t, b)
  await assert.rejects(b.applyBlocks([await block(update!.cid)]), (err: Error) => {
    assert.match(err.message, /simulated read failure/)
    assert.ok(!isTandemError(err, 'BLOCK_INVALID'), 'a fault of this device is no invalid block')
    return true
  })
  restore()

  assert.deepEqual(rejected, [])
  assert.equal((await b.getDocument('Books', id)).fields.pages, null, 'nothing of the failed commit is there')
  assert.equal(await b.hasBlock(update!.cid), false)
  assert.deepEqual((await b.applyBlocks([await block(update!.cid)])).map((r) => r.status), ['applied'])
  assert.equal((await b.getDocument('Books', id)).fields.pages, 412)
})

test('an I/O error while a waiting block applies keeps it waiting instead of dropping it as rejected', async (t) => {
  const { a, b } = await pair(t)
  const id = await a.createDocument('Books', { title: 'Dune' })
  await a.updateDocument('Books', id, { pages: 412 })
  const [genesis, update] = await a.history('Books', id)
  const block = async (cid: string): Promise<{ cid: string; bytes: Uint8Array }> => ({ cid, bytes: (await a.getBlock(cid))! })
  assert.deepEqual((await b.applyBlocks([await block(update!.cid)])).map((r) => r.status), ['pending'])
  const rejected: string[] = []
  b.on('rejected', (ev) => rejected.push(ev.reason))

  // The genesis applies without reading a record; the waiting update reads the one the genesis wrote.
  const restore = failDocReads(t, b)
  await assert.rejects(b.applyBlocks([await block(genesis!.cid)]), /simulated read failure/)
  restore()

  assert.deepEqual(rejected, [])
  assert.deepEqual(await b.pendingBlocks(), [update!.cid], 'the update still waits for its parent')
  await assert.rejects(b.getDocument('Books', id), (e) => isTandemError(e, 'NOT_FOUND'))
  assert.deepEqual((await b.applyBlocks([await block(genesis!.cid)])).map((r) => r.status), ['applied'])
  assert.equal((await b.getDocument('Books', id)).fields.pages, 412)
  assert.deepEqual(await b.pendingBlocks(), [])
})

test('a block that fails its checks is still rejected, and the rest of its batch applies', async (t) => {
  const { a, b } = await pair(t)
  const id = await a.createDocument('Books', { title: 'Dune' })
  await a.updateDocument('Books', id, { pages: 412 })
  const [genesis, update] = await a.history('Books', id)
  const good = { cid: genesis!.cid, bytes: (await a.getBlock(genesis!.cid))! }
  const tampered = (await a.getBlock(update!.cid))!.slice()
  tampered[tampered.length - 1]! ^= 1
  const results = await b.applyBlocks([good, { bytes: tampered }])
  assert.deepEqual(results.map((r) => r.status), ['applied', 'rejected'])
})
