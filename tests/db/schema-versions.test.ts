/** Schema versions in one database and between two (issue 17): updates, refusals, reads across versions, merge. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Database } from '../../main/db/database.ts'
import { isTandemError, type ErrorCode } from '../../shared/errors.ts'
import { tempDir } from '../helpers/tmp.ts'

const V1 = 'type Books { title: String! pages: Int tags: [String!] }'

async function open(t: Parameters<typeof tempDir>[0], sdl = V1): Promise<{ db: Database; dir: string }> {
  const dir = await tempDir(t)
  const db = await Database.open(dir)
  t.after(() => db.close())
  if (sdl !== '') await db.addCollections(sdl)
  return { db, dir }
}

function isError(code: ErrorCode, message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(isTandemError(err), `expected a TandemError, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    if (message) assert.match(err.message, message)
    return true
  }
}

/** Every block of `from` to `to` (as sync would deliver them, in CID order). */
async function copyBlocks(from: Database, to: Database): Promise<void> {
  const entries: Array<{ bytes: Uint8Array }> = []
  for await (const b of from.allBlocks()) entries.push({ bytes: b.bytes })
  await to.applyBlocks(entries, { from: from.deviceID })
}

async function copyVersions(from: Database, to: Database, collection: string): Promise<void> {
  await to.importVersions(from.schemaVersions(collection), from.deviceID)
}

test('a collection keeps its ID across versions; each version names its parent; documents of every version read under the current one', async (t) => {
  const { db, dir } = await open(t)
  const first = await db.getCollection('Books')
  assert.equal(first.version, first.id, 'the first version is the collection ID')
  const old = await db.createDocument('Books', { title: 'Dune', pages: 412 })

  const v2 = await db.updateCollection('type Books { title: String! pages: Int tags: [String!] rating: Int }')
  assert.equal(v2.id, first.id)
  assert.notEqual(v2.version, first.version)
  assert.equal(v2.versionCount, 2)
  const v3 = await db.updateCollection('type Books { title: String! pages: Int tags: [String] rating: Int shelf: String! @default(value: "hall") }')
  const described = await db.getCollection('Books')
  assert.deepEqual(described.versions!.map((v) => v.parents), [[], [first.version], [v2.version]])
  assert.deepEqual(described.versions![1]!.changes, ['added rating: Int'])
  assert.deepEqual(described.versions![2]!.changes.sort(), ['added shelf: String! = "hall"', 'changed tags: [String!] → tags: [String]'])
  assert.equal(described.versions![2]!.author, db.deviceID)
  assert.match(described.sdl, /shelf: String! @default\(value: "hall"\)/)

  // The old document reads under v3: the absent field null, the new one its default.
  assert.deepEqual((await db.getDocument('Books', old)).fields, { pages: 412, rating: null, shelf: 'hall', tags: null, title: 'Dune' })
  const fresh = await db.createDocument('Books', { title: 'Emma', rating: 5 })
  assert.equal((await db.getDocument('Books', fresh)).fields.shelf, 'hall', 'a new document gets the default')
  await db.updateDocument('Books', old, { rating: 3, tags: ['sf', null] })
  // Filters, sorts and counts work across versions (the default too).
  assert.equal((await db.listDocuments('Books', { filter: { shelf: 'hall' } })).total, 2)
  assert.deepEqual((await db.listDocuments('Books', { sort: '-rating' })).docs.map((d) => d.fields.title), ['Emma', 'Dune'])
  assert.equal((await db.listDocuments('Books', { filter: { rating: { _gt: 4 } } })).total, 1)
  await assert.rejects(db.createDocument('Books', { title: 'X', rating: 'five' }), isError('WRONG_TYPE'), 'new writes are checked against the current version')

  // Remove a field: hidden from reads and lists, kept in history; adding it back with the same type shows it again.
  await db.updateCollection('type Books { title: String! pages: Int tags: [String] shelf: String! @default(value: "hall") }')
  assert.equal('rating' in (await db.getDocument('Books', old)).fields, false)
  await assert.rejects(db.listDocuments('Books', { filter: { rating: 3 } }), isError('UNKNOWN_FIELD'))
  await assert.rejects(db.updateDocument('Books', old, { rating: 4 }), isError('UNKNOWN_FIELD'))
  assert.ok((await db.history('Books', old)).some((h) => h.fields.rating === 3), 'the value stays in history')
  await assert.rejects(db.updateCollection('type Books { title: String! pages: Int tags: [String] shelf: String! @default(value: "hall") rating: String }'),
    isError('SCHEMA_INCOMPATIBLE', /was rating: Int in an earlier version/))
  await db.updateCollection('type Books { title: String! pages: Int tags: [String] shelf: String! @default(value: "hall") rating: Int }')
  assert.equal((await db.getDocument('Books', old)).fields.rating, 3)

  // Restart keeps every version and the current one.
  const before = await db.getCollection('Books')
  await db.close()
  const again = await Database.open(dir)
  t.after(() => again.close())
  const after = await again.getCollection('Books')
  assert.equal(after.version, before.version)
  assert.deepEqual(after.versions, before.versions)
  assert.equal((await again.getDocument('Books', old)).fields.rating, 3)
  assert.ok(v3.version)
})

test('every refused change says why and changes nothing', async (t) => {
  const { db } = await open(t)
  await db.createDocument('Books', { title: 'Dune' })
  const before = await db.getCollection('Books')
  const refused: Array<[string, ErrorCode, RegExp]> = [
    ['type Books { title: Int! pages: Int tags: [String!] }', 'SCHEMA_INCOMPATIBLE', /changing a field's type is not supported.*remove the field and add one/],
    ['type Books { title: String! pages: [Int] tags: [String!] }', 'SCHEMA_INCOMPATIBLE', /cannot become pages: \[Int\]/],
    ['type Books { title: String! pages: Int tags: [String!] isbn: String! }', 'SCHEMA_INCOMPATIBLE', /required but has no default/],
    ['type Books { title: String! pages: Int! tags: [String!] }', 'SCHEMA_INCOMPATIBLE', /optional and cannot become required/],
    ['type Books { title: String! pages: Int tags: [String!]! }', 'SCHEMA_INCOMPATIBLE', /optional and cannot become required/],
    ['type Books { title: String! pages: Int tags: [String!] n: Int! @default(value: "x") }', 'SCHEMA_INVALID', /default of Books.n does not fit/],
    ['type Films { title: String! }', 'UNKNOWN_COLLECTION', /no collection "Films"/],
    ['type Books { title: String! ', 'SCHEMA_INVALID', /not valid GraphQL SDL/],
    ['type Books { name: String! @renamedFrom(name: "title") pages: Int tags: [String!] }', 'SCHEMA_INVALID', /Renames are not supported: remove the field and add one/],
    ['type Books { title: String! } type Films { title: String! }', 'INVALID_INPUT', /one collection at a time/],
  ]
  for (const [sdl, code, message] of refused) await assert.rejects(db.updateCollection(sdl), isError(code, message), sdl)
  assert.deepEqual(await db.getCollection('Books'), before)
})

test('a database that gets blocks of a version it does not know keeps them pending, and applies them when it learns the version', async (t) => {
  const { db: a } = await open(t)
  const { db: b } = await open(t)
  const id = await a.createDocument('Books', { title: 'Dune', pages: 412 })
  await copyBlocks(a, b)
  await a.updateCollection('type Books { title: String! pages: Int tags: [String!] rating: Int }')
  await a.updateDocument('Books', id, { rating: 5 })
  await b.updateDocument('Books', id, { pages: 500 }) // B edits old fields, on the old version

  const missing: string[][] = []
  b.on('versions-missing', (e) => missing.push(e.versions))
  await copyBlocks(a, b)
  assert.equal(missing.length, 1, 'the unknown version is reported, to fetch from the sender')
  assert.equal((await b.getDocument('Books', id)).fields.pages, 500, 'the block waits: not applied, not dropped')
  assert.equal((await b.pendingBlocks()).length, 1)

  await copyVersions(a, b, (await a.getCollection('Books')).id)
  await copyBlocks(b, a)
  for (const db of [a, b]) {
    assert.deepEqual((await db.getDocument('Books', id)).fields, { pages: 500, rating: 5, tags: null, title: 'Dune' })
  }
  assert.equal((await b.pendingBlocks()).length, 0)
  assert.equal((await b.getCollection('Books')).version, (await a.getCollection('Books')).version)
})

test('blocks that wait for a version apply when this device makes that version itself: the same update, or the same merge', async (t) => {
  const { db: a } = await open(t)
  const { db: b } = await open(t)
  const coll = (await a.getCollection('Books')).id
  // The same update on both devices is one version (its ID leaves out the author); A's block under it reaches B first.
  const withIsbn = 'type Books { title: String! pages: Int tags: [String!] isbn: String }'
  await a.updateCollection(withIsbn)
  const dune = await a.createDocument('Books', { title: 'Dune', isbn: '0441013597' })
  await copyBlocks(a, b)
  assert.equal((await b.pendingBlocks()).length, 1, 'the block waits for a version B does not know')
  const changed: string[] = []
  b.on('change', (e) => changed.push(e.docID))
  await b.updateCollection(withIsbn)
  assert.equal((await b.getCollection('Books')).version, (await a.getCollection('Books')).version)
  assert.equal((await b.pendingBlocks()).length, 0)
  assert.equal((await b.getDocument('Books', dune)).fields.isbn, '0441013597')
  assert.deepEqual(changed, [dune], 'and is announced like any block from another device')

  // Concurrent updates merge into a version each device derives alike; A writes under it, and B gets
  // A's own update but not the merge itself: B derives the merge, and the waiting block applies.
  await a.updateCollection('type Books { title: String! pages: Int tags: [String!] isbn: String rating: Int }')
  await b.updateCollection('type Books { title: String! pages: Int tags: [String!] isbn: String owned: Boolean }')
  await copyVersions(b, a, coll)
  const emma = await a.createDocument('Books', { title: 'Emma', rating: 4, owned: true })
  await copyBlocks(a, b)
  assert.equal((await b.pendingBlocks()).length, 1)
  await b.importVersions(a.schemaVersions(coll).filter((v) => v.parents.length < 2), a.deviceID)
  assert.equal((await b.getCollection('Books')).version, (await a.getCollection('Books')).version, 'the same merge version')
  assert.equal((await b.pendingBlocks()).length, 0)
  assert.deepEqual((await b.getDocument('Books', emma)).fields, (await a.getDocument('Books', emma)).fields)
})

test('concurrent compatible versions merge into one shape with both; concurrent conflicting ones follow the rule, with a notice', async (t) => {
  const { db: a } = await open(t)
  const { db: b } = await open(t)
  const coll = (await a.getCollection('Books')).id
  await a.updateCollection('type Books { title: String! pages: Int tags: [String!] rating: Int }')
  await b.updateCollection('type Books { title: String! pages: Int tags: [String!] isbn: String }')
  const ra = await a.createDocument('Books', { title: 'A', rating: 4 })
  const rb = await b.createDocument('Books', { title: 'B', isbn: '978' })
  await copyVersions(a, b, coll)
  await copyVersions(b, a, coll)
  await copyBlocks(a, b)
  await copyBlocks(b, a)
  const [ia, ib] = [await a.getCollection('Books'), await b.getCollection('Books')]
  assert.deepEqual(ia.schema.fields.map((f) => f.name), ['isbn', 'pages', 'rating', 'tags', 'title'])
  assert.deepEqual(ia.schema, ib.schema)
  assert.equal(ia.version, ib.version, 'both derive the same merge version')
  assert.equal(ia.versions!.at(-1)!.merge, true)
  assert.equal(ia.conflicts, undefined)
  for (const db of [a, b]) {
    assert.equal((await db.getDocument('Books', ra)).fields.rating, 4)
    assert.equal((await db.getDocument('Books', rb)).fields.isbn, '978')
  }
  // Writes under the merge version travel too.
  await a.updateDocument('Books', rb, { rating: 2 })
  await copyBlocks(a, b)
  assert.equal((await b.getDocument('Books', rb)).fields.rating, 2)

  // Conflicting: A adds year: Int, B adds year: String, concurrently.
  await a.updateCollection(`${ia.sdl.slice(0, -1)}  year: Int\n}`)
  await b.updateCollection(`${ib.sdl.slice(0, -1)}  year: String\n}`)
  await a.updateDocument('Books', ra, { year: 1965 })
  await b.updateDocument('Books', rb, { year: 'nineteen' })
  const notices: unknown[] = []
  a.on('schema-conflict', (e) => notices.push(e))
  b.on('schema-conflict', (e) => notices.push(e))
  await copyVersions(a, b, coll)
  await copyVersions(b, a, coll)
  await copyBlocks(a, b)
  await copyBlocks(b, a)
  assert.equal(notices.length, 2, 'each device gets a notice')
  const [ca, cb] = [await a.getCollection('Books'), await b.getCollection('Books')]
  assert.deepEqual(ca.schema, cb.schema)
  assert.deepEqual(ca.conflicts, cb.conflicts)
  assert.equal(ca.conflicts!.length, 1)
  const conflict = ca.conflicts![0]!
  assert.equal(conflict.field, 'year')
  const winnerType = ca.schema.fields.find((f) => f.name === 'year')!.type
  const versions = ca.versions!.filter((v) => v.changes.some((c) => c.startsWith('added year')))
  assert.equal(versions.length, 2)
  const lower = [...versions].sort((x, y) => (x.id < y.id ? -1 : 1))[0]!
  assert.equal(conflict.winner, lower.id, 'equal depth: the lower version ID wins')
  assert.equal(winnerType, lower.fields.find((f) => f.name === 'year')!.type)
  for (const db of [a, b]) {
    const docA = await db.getDocument('Books', ra)
    const docB = await db.getDocument('Books', rb)
    // Nothing is lost: the value that does not fit the winning type shows as a conflict.
    if (winnerType === 'Int') {
      assert.equal(docA.fields.year, 1965)
      assert.equal(docB.fields.year, null)
      assert.deepEqual(docB.typeConflicts, { year: 'nineteen' })
    } else {
      assert.equal(docB.fields.year, 'nineteen')
      assert.equal(docA.fields.year, null)
      assert.deepEqual(docA.typeConflicts, { year: 1965 })
    }
  }
})

test('a version from another device that does not hash to its ID, or changes a type, is refused', async (t) => {
  const { db: a } = await open(t)
  const { db: b } = await open(t)
  const coll = (await a.getCollection('Books')).id
  await a.updateCollection('type Books { title: String! pages: Int tags: [String!] rating: Int }')
  const [root, v2] = a.schemaVersions(coll)
  const rejected: string[] = []
  b.on('rejected', (e) => rejected.push(e.reason))
  assert.equal(await b.importVersions([{ ...v2!, fields: [...v2!.fields, { name: 'x', type: 'Int', list: false, required: false, itemRequired: false }] }]), 0)
  assert.equal(await b.importVersions([{ ...v2!, fields: v2!.fields.map((f) => (f.name === 'pages' ? { ...f, type: 'String' } : f)) }]), 0)
  assert.equal(await b.importVersions([{ nonsense: true }]), 0)
  assert.equal(rejected.length, 3)
  assert.equal((await b.getCollection('Books')).versionCount, 1)
  assert.equal(await b.importVersions([root, v2]), 1)
})

test('a collection defined with defaults travels as SDL and keeps its ID', async (t) => {
  const sdl = 'type Tasks { title: String! done: Boolean! @default(value: false) n: Float @default(value: 1) tags: [String] @default(value: ["a", "b"]) meta: JSON @default(value: {x: [1, {y: "z"}]}) due: DateTime @default(value: "2026-01-31") }'
  const { db: a } = await open(t, sdl)
  const { db: b } = await open(t, '')
  const info = await a.getCollection('Tasks')
  assert.equal(info.schema.fields.find((f) => f.name === 'due')!.default, '2026-01-31T00:00:00.000Z')
  assert.equal(await b.importCollection(info.id, a.collectionSDL(info.id)!), true)
  const id = await a.createDocument('Tasks', { title: 'x' })
  await copyBlocks(a, b)
  assert.deepEqual((await b.getDocument('Tasks', id)).fields, { done: false, due: '2026-01-31T00:00:00.000Z', meta: { x: [1, { y: 'z' }] }, n: 1, tags: ['a', 'b'], title: 'x' })
})

test('blocks waiting for a version survive a restart and apply when it comes', async (t) => {
  const { db: a } = await open(t)
  const dirB = await tempDir(t)
  let b = await Database.open(dirB)
  await b.addCollections(V1)
  const coll = (await a.getCollection('Books')).id
  await a.updateCollection('type Books { title: String! pages: Int tags: [String!] rating: Int }')
  const id = await a.createDocument('Books', { title: 'Dune', rating: 5 })
  await a.updateDocument('Books', id, { rating: 4 })
  await copyBlocks(a, b)
  assert.equal((await b.pendingBlocks()).length, 2)
  await b.close()
  b = await Database.open(dirB)
  t.after(() => b.close())
  assert.equal((await b.pendingBlocks()).length, 2, 'still waiting after the restart')
  await copyVersions(a, b, coll)
  assert.deepEqual(await b.pendingBlocks(), [])
  assert.equal((await b.getDocument('Books', id)).fields.rating, 4)
})
