/**
 * `tandem client doc increment | resolve | list --conflicts` through a real `tandem start`: counters
 * add up, and every bad input (resolve with an unknown CID, an increment of a non-counter, a counter
 * directive on a String, a plain update of a counter) exits 1 with a message and writes nothing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { tempDir } from '../helpers/tmp.ts'
import { client, clientFails, startDaemon } from './cli.ts'

test('doc increment adds up; bad inputs exit 1 with a message and write nothing', { timeout: 120_000 }, async (t) => {
  const dir = join(await tempDir(t), 'a')
  await startDaemon(t, dir, [], { p2p: false })
  await client(dir, 'collection', 'add', 'type Posts { title: String! likes: Int @crdt(type: pncounter) views: Int @crdt(type: pcounter) }')
  const { docID } = await client(dir, 'doc', 'create', 'Posts', '{"title": "p", "likes": 5}')
  assert.equal((await client(dir, 'doc', 'increment', 'Posts', docID, 'likes', '3')).fields.likes, 8)
  assert.equal((await client(dir, 'doc', 'increment', 'Posts', docID, 'likes', '--', '-2')).fields.likes, 6)
  assert.equal((await client(dir, 'doc', 'list', 'Posts', '--conflicts')).total, 0)
  const describe = await client(dir, 'collection', 'describe', 'Posts')
  assert.match(describe.sdl, /likes: Int @crdt\(type: pncounter\)/)

  const before = { history: await client(dir, 'doc', 'history', 'Posts', docID), collections: await client(dir, 'collection', 'list') }
  assert.match(await clientFails(dir, 'NOT_FOUND', 'doc', 'resolve', 'Posts', docID, 'title', '--pick', 'bafyreiunknown'), /no conflict on "title"/)
  assert.match(await clientFails(dir, 'INVALID_INPUT', 'doc', 'increment', 'Posts', docID, 'title', '1'), /not a counter/)
  assert.match(await clientFails(dir, 'INVALID_INPUT', 'doc', 'increment', 'Posts', docID, 'views', '--', '-1'), /only grows/)
  assert.match(await clientFails(dir, 'INVALID_INPUT', 'doc', 'update', 'Posts', docID, '{"likes": 1}'), /increment it instead/)
  assert.match(await clientFails(dir, 'SCHEMA_INVALID', 'collection', 'add', 'type Tags { name: String @crdt(type: pncounter) }'), /must be an Int or a Float/)
  assert.deepEqual(await client(dir, 'doc', 'history', 'Posts', docID), before.history, 'no change written')
  assert.deepEqual(await client(dir, 'collection', 'list'), before.collections, 'no collection added')
})
