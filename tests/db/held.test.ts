import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Database } from '../../main/db/database.ts'
import { tempDir } from '../helpers/tmp.ts'

const SDL = 'type Books { title: String! }'
type T = Parameters<typeof tempDir>[0]

async function open(t: T, clock?: { now: number }): Promise<Database> {
  const db = await Database.open(await tempDir(t), clock === undefined ? {} : { now: () => clock.now })
  t.after(() => db.close())
  await db.addCollections(SDL)
  return db
}

/** 40 Books written on one device, 30 of them deleted there: the genesis blocks and the delete blocks as sync carries them. */
async function authorBlocks(t: T): Promise<{ ids: string[]; creates: Array<{ bytes: Uint8Array }>; deletes: Array<{ bytes: Uint8Array }> }> {
  const author = await open(t)
  const ids = await author.createDocuments('Books', Array.from({ length: 40 }, (_, i) => ({ title: `book ${i}` })))
  for (const id of ids.slice(0, 30)) await author.deleteDocument('Books', id)
  const creates: Array<{ bytes: Uint8Array }> = []
  const deletes: Array<{ bytes: Uint8Array }> = []
  for (const id of ids) {
    for (const e of await author.history('Books', id)) {
      const bytes = (await author.getBlock(e.cid))!
      ;(e.height === 1 ? creates : deletes).push({ bytes })
    }
  }
  return { ids, creates, deletes }
}

const MIN = 60_000

test('the guard counts deletions of documents that were alive here; a first sync of history (creations then deletions) is not held', async (t) => {
  const { creates, deletes } = await authorBlocks(t)
  const clock = { now: 1_000_000 }
  const learner = await open(t, clock)
  await learner.applyBlocks(creates)
  clock.now += 5 * MIN // still learning the collection: its documents arrived minutes ago
  await learner.applyBlocks(deletes)
  assert.deepEqual(learner.heldBatches(), [])
  assert.equal((await learner.listDocuments('Books')).total, 10)

  const holder = await open(t, clock)
  await holder.applyBlocks(creates)
  clock.now += 11 * MIN // the documents have lived here a while
  await holder.applyBlocks(deletes.slice(0, 15)) // 15: under the threshold, applied
  assert.equal((await holder.listDocuments('Books')).total, 25)
  clock.now += 1000
  await holder.applyBlocks(deletes.slice(15)) // 30 in the window: held, the first 15 included
  const [batch] = holder.heldBatches()
  assert.equal(batch?.docs, 30)
  assert.equal(batch?.liveAtStart, 40)
  assert.equal((await holder.listDocuments('Books')).total, 40)
  assert.equal((await holder.listDocuments('Books', { deleted: true })).total, 0)
  assert.equal((await holder.listDocuments('Books', { filter: { title: 'book 3' } })).docs[0]?.held?.batch, batch?.id)
})

test('documents that arrive after the guard first looked at arrivals are still not counted when deleted soon after', async (t) => {
  // The guard builds its set of recent arrivals at the first remote deletion it weighs; what
  // arrives after that must join it, or a first sync's creations then deletions would be held.
  const { creates, deletes } = await authorBlocks(t)
  const clock = { now: 1_000_000 }
  const learner = await open(t, clock)
  await learner.applyBlocks(creates.slice(0, 5))
  clock.now += 11 * MIN // those five have lived here a while
  await learner.applyBlocks(deletes.slice(0, 5)) // weighed (5: under the threshold), so the set of arrivals exists now
  assert.deepEqual(learner.heldBatches(), [])
  await learner.applyBlocks(creates.slice(5, 30)) // 25 arrive now
  clock.now += 1000
  await learner.applyBlocks(deletes.slice(5, 30)) // and are deleted at once: 25 of 25 live, not held
  assert.deepEqual(learner.heldBatches(), [])
  assert.equal((await learner.listDocuments('Books')).total, 0)
  assert.equal((await learner.listDocuments('Books', { deleted: true })).total, 30)
})

test('deletions spread over more than the window are not held; the threshold is a node option', async (t) => {
  const { creates, deletes } = await authorBlocks(t)
  const clock = { now: 1_000_000 }
  const slow = await open(t, clock)
  await slow.applyBlocks(creates)
  clock.now += 11 * MIN
  await slow.applyBlocks(deletes.slice(0, 15))
  clock.now += MIN + 1
  await slow.applyBlocks(deletes.slice(15))
  assert.deepEqual(slow.heldBatches(), [])
  assert.equal((await slow.listDocuments('Books')).total, 10)

  const dir = await tempDir(t)
  const strict = await Database.open(dir, { now: () => clock.now, massDelete: { minDocs: 3, ratio: 0.05 } })
  t.after(() => strict.close())
  await strict.addCollections(SDL)
  await strict.applyBlocks(creates)
  clock.now += 11 * MIN
  await strict.applyBlocks(deletes.slice(0, 4))
  assert.equal(strict.heldBatches()[0]?.docs, 4)
  const off = await Database.open(await tempDir(t), { now: () => clock.now, massDelete: false })
  t.after(() => off.close())
  await off.addCollections(SDL)
  await off.applyBlocks(creates)
  clock.now += 11 * MIN
  await off.applyBlocks(deletes)
  assert.deepEqual(off.heldBatches(), [])
})

test('a held document: deleting it here lets it go, restoring it keeps it; deletes written here are never held', async (t) => {
  const { ids, creates, deletes } = await authorBlocks(t)
  const clock = { now: 1_000_000 }
  const db = await open(t, clock)
  await db.applyBlocks(creates)
  clock.now += 11 * MIN
  await db.applyBlocks(deletes)
  const id = db.heldBatches()[0]!.id
  await db.deleteDocument('Books', ids[0]!)
  await db.restoreDocument('Books', ids[1]!)
  assert.equal(db.heldBatches()[0]?.docs, 28)
  assert.equal((await db.getDocument('Books', ids[0]!)).deleted, true)
  assert.equal((await db.getDocument('Books', ids[1]!)).held, undefined)
  assert.equal((await db.getDocument('Books', ids[2]!)).held?.batch, id)
  const mine = await db.createDocuments('Books', Array.from({ length: 30 }, (_, i) => ({ title: `mine ${i}` })))
  for (const m of mine) await db.deleteDocument('Books', m)
  assert.equal(db.heldBatches().length, 1, 'own deletions are not held')
  const out = await db.rejectHeld(id)
  assert.equal(out.restored, 28)
  assert.equal((await db.listDocuments('Books')).total, 39)
})
