/** tandem client sync held / release / reject against a real `tandem start` whose data directory holds two batches of held deletions. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { tempDir } from '../helpers/tmp.ts'
import { heldDataDir } from '../helpers/held-data.ts'
import { client, clientFails, startDaemon, tandem } from './cli.ts'

test('client sync held lists held batches, release keeps the deletions, reject restores the documents; bad IDs fail on stderr', { timeout: 60_000 }, async (t) => {
  const dir = join(await tempDir(t), 'a')
  await heldDataDir(t, dir)
  await startDaemon(t, dir, ['--mass-delete', '50,20,60'], { p2p: false })
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

test('tandem start --mass-delete takes percent,docs,seconds or off; anything else is a usage error (exit 2)', { timeout: 30_000 }, async () => {
  const bad = await tandem(['start', '--no-p2p', '--mass-delete', 'half'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--mass-delete takes percent,docs,seconds/)
  assert.equal((await tandem(['start', '--no-p2p', '--mass-delete', '150,20,60'])).code, 2)
})
