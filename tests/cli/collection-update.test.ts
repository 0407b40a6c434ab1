/** `tandem client collection update`: a new version prints the collection; every refusal exits 1 with a message and changes nothing. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { tempDir } from '../helpers/tmp.ts'
import { client, clientFails, startDaemon } from './cli.ts'

test('collection update: allowed changes make versions; refused ones exit 1 with why, and change nothing', { timeout: 120_000 }, async (t) => {
  const root = await tempDir(t)
  const dir = join(root, 'a')
  await startDaemon(t, dir, [], { p2p: false })
  const created = (await client(dir, 'collection', 'add', 'type Books { title: String! pages: Int }'))[0]
  const { docID } = await client(dir, 'doc', 'create', 'Books', '{"title": "Dune", "pages": 412}')

  const v2 = await client(dir, 'collection', 'update', 'type Books { title: String! pages: Int rating: Int shelf: String! @default(value: "hall") }')
  assert.equal(v2.id, created.id, 'the collection keeps its ID')
  assert.notEqual(v2.version, created.version)
  assert.deepEqual((await client(dir, 'doc', 'get', 'Books', docID)).fields, { pages: 412, rating: null, shelf: 'hall', title: 'Dune' })
  await client(dir, 'doc', 'update', 'Books', docID, '{"rating": 5}')

  const before = { describe: await client(dir, 'collection', 'describe', 'Books'), docs: await client(dir, 'doc', 'list', 'Books') }
  assert.equal(before.describe.versions.length, 2)
  assert.deepEqual(before.describe.versions[1].changes.sort(), ['added rating: Int', 'added shelf: String! = "hall"'])
  const refusals: Array<[string, string, RegExp]> = [
    ['SCHEMA_INCOMPATIBLE', 'type Books { title: String! pages: String rating: Int shelf: String! @default(value: "hall") }', /changing a field's type is not supported.*remove the field and add one/],
    ['SCHEMA_INCOMPATIBLE', 'type Books { title: String! pages: Int rating: Int shelf: String! @default(value: "hall") isbn: String! }', /required but has no default/],
    ['SCHEMA_INCOMPATIBLE', 'type Books { title: String! pages: Int! rating: Int shelf: String! @default(value: "hall") }', /optional and cannot become required/],
    ['UNKNOWN_COLLECTION', 'type Films { title: String! }', /no collection "Films"/],
    ['SCHEMA_INVALID', 'type Books { title: String! pages: ', /not valid GraphQL SDL/],
    ['SCHEMA_INVALID', 'type Books { name: String! @renamedFrom(field: "title") pages: Int }', /Renames are not supported: remove the field and add one/],
  ]
  for (const [code, sdl, message] of refusals) {
    const stderr = await clientFails(dir, code, 'collection', 'update', sdl)
    assert.match(stderr, message)
    assert.doesNotMatch(stderr, /at .*\.ts:\d+/, 'no stack traces for people')
  }
  assert.deepEqual(await client(dir, 'collection', 'describe', 'Books'), before.describe, 'the collection is unchanged')
  assert.deepEqual(await client(dir, 'doc', 'list', 'Books'), before.docs, 'the documents are unchanged')
})
