/** tandem client sync held / release / reject against a real `tandem start` whose data directory holds two batches of held deletions. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { Database } from '../../main/db/database.ts'
import { tempDir } from '../helpers/tmp.ts'
import { client, clientFails, startDaemon } from './cli.ts'

const SDL = 'type Books { title: String! } type Notes { text: String! }'

/**
 * Another device writes 40 Books and 30 Notes, then deletes 30 Books and 25 Notes; `dir` learned the
 * documents long before the deletions arrived (a pinned clock), so both batches are held there.
 */
async function heldDataDir(t: Parameters<typeof tempDir>[0], dir: string): Promise<void> {
  const author = await Database.open(await tempDir(t))
  await author.addCollections(SDL)
  const books = await author.createDocuments('Books', Array.from({ length: 40 }, (_, i) => ({ title: `book ${i}` })))
  const notes = await author.createDocuments('Notes', Array.from({ length: 30 }, (_, i) => ({ text: `note ${i}` })))
  for (const id of books.slice(0, 30)) await author.deleteDocument('Books', id)
  for (const id of notes.slice(0, 25)) await author.deleteDocument('Notes', id)
  const creates: Array<{ bytes: Uint8Array }> = []
  const deletes: Array<{ bytes: Uint8Array }> = []
  for (const [c, ids] of [['Books', books], ['Notes', notes]] as const) {
    for (const id of ids) for (const e of await author.history(c, id)) (e.height === 1 ? creates : deletes).push({ bytes: (await author.getBlock(e.cid))! })
  }
  await author.close()
  let now = Date.now() - 3_600_000
  const db = await Database.open(dir, { now: () => now })
  await db.addCollections(SDL)
  await db.applyBlocks(creates)
  now = Date.now()
  await db.applyBlocks(deletes)
  assert.equal(db.heldBatches().length, 2)
  await db.close()
}

test('client sync held lists held batches, release keeps the deletions, reject restores the documents; bad IDs fail on stderr', { timeout: 60_000 }, async (t) => {
  const dir = join(await tempDir(t), 'a')
  await heldDataDir(t, dir)
  await startDaemon(t, dir, [], { p2p: false })
  const held = await client<Array<{ id: string; collectionName: string; docs: number; liveAtStart: number; sample: string[] }>>(dir, 'sync', 'held')
  assert.deepEqual(held.map((b) => [b.collectionName, b.docs, b.liveAtStart]).sort(), [['Books', 30, 40], ['Notes', 25, 30]])
  const books = held.find((b) => b.collectionName === 'Books')!
  const notes = held.find((b) => b.collectionName === 'Notes')!
  assert.equal((await client(dir, 'doc', 'list', 'Books')).total, 40, 'held deletions read as alive')
  assert.equal((await client(dir, 'doc', 'get', 'Books', books.sample[0]!)).held.batch, books.id)

  const rejected = await client(dir, 'sync', 'reject', books.id)
  assert.equal(rejected.restored, 30)
  assert.equal((await client(dir, 'doc', 'list', 'Books')).total, 40)
  assert.equal((await client(dir, 'doc', 'trash', 'Books')).total, 0)

  const released = await client(dir, 'sync', 'release', notes.id)
  assert.equal(released.batch.docs, 25)
  assert.equal((await client(dir, 'doc', 'list', 'Notes')).total, 5)
  assert.equal((await client(dir, 'doc', 'trash', 'Notes')).total, 25)
  assert.deepEqual(await client(dir, 'sync', 'held'), [])

  assert.match(await clientFails(dir, 'NOT_FOUND', 'sync', 'release', notes.id), /no held deletion batch/)
  await clientFails(dir, 'INVALID_INPUT', 'sync', 'reject', 'NOT-AN-ID')
})
