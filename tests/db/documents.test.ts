import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Database, type ChangeEvent } from '../../main/db/database.ts'
import { isTandemError, type ErrorCode } from '../../shared/errors.ts'
import { tempDir } from '../helpers/tmp.ts'

const BOOKS = 'type Books { title: String! pages: Int tags: [String] read: Boolean published: DateTime rating: Float meta: JSON }'

async function openBooks(t: Parameters<typeof tempDir>[0]): Promise<{ db: Database; dir: string }> {
  const dir = await tempDir(t)
  const db = await Database.open(dir)
  t.after(() => db.close())
  await db.addCollections(BOOKS)
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

test('create, read, partial update, delete and restore a document', async (t) => {
  const { db } = await openBooks(t)
  const id = await db.createDocument('Books', { title: 'Dune', pages: 412, tags: ['sf'], published: '1965-08-01' })
  assert.match(id, /^bae-bafyrei/)
  const doc = await db.getDocument('Books', id)
  assert.deepEqual(doc.fields, {
    meta: null, pages: 412, published: '1965-08-01T00:00:00.000Z', rating: null, read: null, tags: ['sf'], title: 'Dune',
  })
  assert.equal(doc.deleted, false)
  assert.equal(doc.heads.length, 1)

  const updated = await db.updateDocument('Books', id, { read: true, rating: 4.5 })
  assert.equal(updated.fields.title, 'Dune', 'fields not named keep their values')
  assert.equal(updated.fields.read, true)
  assert.equal(updated.fields.rating, 4.5)
  assert.notDeepEqual(updated.heads, doc.heads)

  await db.updateDocument('Books', id, { tags: null })
  assert.equal((await db.getDocument('Books', id)).fields.tags, null, 'an optional field can be cleared')

  const deleted = await db.deleteDocument('Books', id)
  assert.equal(deleted.deleted, true)
  assert.equal((await db.listDocuments('Books')).total, 0)
  await assert.rejects(db.updateDocument('Books', id, { pages: 1 }), isError('DOC_DELETED', /restore/))
  await assert.rejects(db.deleteDocument('Books', id), isError('DOC_DELETED'))

  const restored = await db.restoreDocument('Books', id)
  assert.equal(restored.deleted, false)
  assert.equal(restored.fields.title, 'Dune')
  assert.equal((await db.listDocuments('Books')).total, 1)
  assert.equal((await db.getCollection('Books')).count, 1)
})

test('two equal documents get different docIDs', async (t) => {
  const { db } = await openBooks(t)
  const a = await db.createDocument('Books', { title: 'Same' })
  const b = await db.createDocument('Books', { title: 'Same' })
  assert.notEqual(a, b)
})

test('bad documents get typed errors in words and nothing is written', async (t) => {
  const { db } = await openBooks(t)
  const id = await db.createDocument('Books', { title: 'Kept', pages: 10 })
  const before = await db.getDocument('Books', id)
  await assert.rejects(db.createDocument('Novels', { title: 'x' }), isError('UNKNOWN_COLLECTION', /no collection "Novels".*Books/))
  await assert.rejects(db.createDocument('Books', { title: 'x', author: 'y' }), isError('UNKNOWN_FIELD', /no field "author"/))
  await assert.rejects(db.createDocument('Books', { title: 'x', pages: 'many' }), isError('WRONG_TYPE', /Books\.pages must be a whole number, not the text "many"/))
  await assert.rejects(db.createDocument('Books', { title: 'x', pages: 1.5 }), isError('WRONG_TYPE'))
  await assert.rejects(db.createDocument('Books', { title: 'x', rating: Number.NaN }), isError('WRONG_TYPE'))
  await assert.rejects(db.createDocument('Books', { title: 'x', tags: 'sf' }), isError('WRONG_TYPE', /a list of text/))
  await assert.rejects(db.createDocument('Books', { title: 'x', tags: [1] }), isError('WRONG_TYPE'))
  await assert.rejects(db.createDocument('Books', { title: 'x', published: 'yesterday' }), isError('WRONG_TYPE', /date-time/))
  await assert.rejects(db.createDocument('Books', { pages: 3 }), isError('MISSING_REQUIRED', /needs a value for "title"/))
  await assert.rejects(db.createDocument('Books', { title: null }), isError('MISSING_REQUIRED'))
  await assert.rejects(db.createDocument('Books', [1, 2]), isError('INVALID_INPUT'))
  await assert.rejects(db.createDocument('Books', 'title=x'), isError('INVALID_INPUT'))
  await assert.rejects(db.updateDocument('Books', id, { title: null }), isError('MISSING_REQUIRED', /cannot be empty/))
  await assert.rejects(db.updateDocument('Books', id, {}), isError('INVALID_INPUT', /Nothing to update/))
  await assert.rejects(db.updateDocument('Books', id, { pages: -0.5 }), isError('WRONG_TYPE'))
  await assert.rejects(db.updateDocument('Books', 'bae-nope', { pages: 1 }), isError('NOT_FOUND'))
  await assert.rejects(db.getDocument('Books', 'bae-nope'), isError('NOT_FOUND'))
  await assert.rejects(db.updateDocument('Books', id, { meta: { f: () => 1 } }), isError('WRONG_TYPE', /plain JSON/))
  // A leading byte-order mark would not survive other devices' decoder: refused, in words.
  await assert.rejects(db.updateDocument('Books', id, { title: '\uFEFFPasted' }), isError('INVALID_INPUT', /Books\.title .*byte-order mark/))
  await assert.rejects(db.updateDocument('Books', id, { tags: ['ok', '\uFEFFx'] }), isError('INVALID_INPUT', /byte-order mark/))
  await assert.rejects(db.updateDocument('Books', id, { meta: { a: ['\uFEFF'] } }), isError('INVALID_INPUT', /byte-order mark/))
  const after = await db.getDocument('Books', id)
  assert.deepEqual(after, before, 'the document is untouched')
  assert.equal((await db.listDocuments('Books')).total, 1)
  assert.equal((await db.history('Books', id)).length, 1, 'no block was written')
})

test('a bulk create is all or none, and the error says which document is wrong', async (t) => {
  const { db } = await openBooks(t)
  const docs = [{ title: 'a' }, { title: 'b' }, { title: 'c', pages: 'x' }, { title: 'd' }]
  await assert.rejects(db.createDocuments('Books', docs), isError('WRONG_TYPE', /^Document 3 of 4: /))
  assert.equal((await db.listDocuments('Books')).total, 0)
  const ids = await db.createDocuments('Books', docs.filter((d) => d.pages === undefined))
  assert.equal(ids.length, 3)
  assert.equal(new Set(ids).size, 3)
  assert.equal((await db.listDocuments('Books')).total, 3)
  await assert.rejects(db.createDocuments('Books', []), isError('INVALID_INPUT'))
})

test('adding collections is all or none; a duplicate name is refused', async (t) => {
  const { db } = await openBooks(t)
  await assert.rejects(db.addCollections('type Authors { name: String! } type Books { title: String! }'),
    isError('DUPLICATE_COLLECTION', /"Books" already exists/))
  assert.deepEqual((await db.listCollections()).map((c) => c.name), ['Books'])
  const [authors] = await db.addCollections('type Authors { name: String! }')
  assert.equal(authors!.count, 0)
  assert.deepEqual((await db.listCollections()).map((c) => c.name), ['Authors', 'Books'])
  assert.equal((await db.getCollection(authors!.id)).name, 'Authors', 'a collection is found by ID too')
})

test('listing filters by equality and ranges, sorts, pages and counts', async (t) => {
  const { db } = await openBooks(t)
  const titles = ['Emma', 'Dune', 'Ubik', 'Solaris', 'Neuromancer', 'Hyperion']
  await db.createDocuments('Books', titles.map((title, i) => ({ title, pages: (i + 1) * 100, read: i % 2 === 0 })))
  const all = await db.listDocuments('Books')
  assert.equal(all.total, 6)
  assert.equal(all.docs.length, 6)

  const sorted = await db.listDocuments('Books', { sort: 'title' })
  assert.deepEqual(sorted.docs.map((d) => d.fields.title), [...titles].sort())
  const desc = await db.listDocuments('Books', { sort: '-pages', limit: 2 })
  assert.deepEqual(desc.docs.map((d) => d.fields.pages), [600, 500])
  assert.equal(desc.total, 6, 'total counts every match, not the page')
  const page2 = await db.listDocuments('Books', { sort: 'pages', limit: 2, offset: 2 })
  assert.deepEqual(page2.docs.map((d) => d.fields.pages), [300, 400])

  const read = await db.listDocuments('Books', { filter: { read: true }, sort: 'pages' })
  assert.deepEqual(read.docs.map((d) => d.fields.title), ['Emma', 'Ubik', 'Neuromancer'])
  const range = await db.listDocuments('Books', { filter: { pages: { _gte: 200, _lt: 500 } }, sort: 'pages' })
  assert.deepEqual(range.docs.map((d) => d.fields.pages), [200, 300, 400])
  assert.equal(range.total, 3)
  const inList = await db.listDocuments('Books', { filter: { title: { _in: ['Dune', 'Ubik', 'Nope'] } }, sort: 'title' })
  assert.deepEqual(inList.docs.map((d) => d.fields.title), ['Dune', 'Ubik'])

  const plainPage = await db.listDocuments('Books', { limit: 4, offset: 4 })
  assert.equal(plainPage.docs.length, 2)
  assert.equal(plainPage.total, 6)

  await db.deleteDocument('Books', sorted.docs[0]!.docID)
  assert.equal((await db.listDocuments('Books')).total, 5)
  const trash = await db.listDocuments('Books', { deleted: true })
  assert.deepEqual(trash.docs.map((d) => d.fields.title), ['Dune'])

  await assert.rejects(db.listDocuments('Books', { sort: 'author' }), isError('UNKNOWN_FIELD', /sort by "author"/))
  await assert.rejects(db.listDocuments('Books', { filter: { pages: { _like: 3 } } }), isError('INVALID_INPUT', /_like/))
  await assert.rejects(db.listDocuments('Books', { limit: -1 }), isError('INVALID_INPUT'))
})

test('history lists every change in causal order with author and changed fields', async (t) => {
  const { db } = await openBooks(t)
  const id = await db.createDocument('Books', { title: 'Dune' })
  await db.updateDocument('Books', id, { pages: 412 })
  await db.deleteDocument('Books', id)
  await db.restoreDocument('Books', id)
  const h = await db.history('Books', id)
  assert.deepEqual(h.map((e) => e.height), [1, 2, 3, 4])
  assert.deepEqual(h.map((e) => e.fields), [{ title: 'Dune' }, { pages: 412 }, {}, {}])
  assert.deepEqual(h.map((e) => e.deleted), [undefined, undefined, true, false])
  assert.ok(h.every((e) => e.author === db.deviceID))
  assert.deepEqual(h[1]!.parents, [h[0]!.cid])
  assert.deepEqual((await db.getDocument('Books', id)).heads, [h[3]!.cid])
})

test('a bulk create tells of each document once, and each of its documents can be edited at once', async (t) => {
  const { db } = await openBooks(t)
  const events: ChangeEvent[] = []
  db.on('change', (ev) => events.push(ev))
  // Over 256 documents: their first blocks are not kept in the block cache, so an edit reads its parent.
  const ids = await db.createDocuments('Books', Array.from({ length: 300 }, (_, i) => ({ title: `Book ${i}`, pages: i })))
  assert.equal(events.length, 300)
  assert.deepEqual(events.map((e) => e.docID), ids)
  for (const e of events) {
    assert.deepEqual({ ...e, docID: '', cids: [] }, { collection: e.collection, docID: '', cids: [], origin: 'local', deleted: false, batchDocs: 300 })
    assert.deepEqual(e.cids, [(await db.getDocument('Books', e.docID)).heads[0]])
  }
  events.length = 0
  for (const id of [ids[0]!, ids[299]!]) {
    const before = (await db.getDocument('Books', id)).heads
    await db.updateDocument('Books', id, { pages: 1000 })
    const h = await db.history('Books', id)
    assert.deepEqual(h.map((e) => e.height), [1, 2])
    assert.deepEqual(h[1]!.parents, before)
    assert.equal((await db.getDocument('Books', id)).fields.pages, 1000)
  }
  assert.deepEqual(events.map((e) => [e.docID, e.batchDocs, e.cids.length]), [[ids[0], 1, 1], [ids[299], 1, 1]])
})

test('reopening the data directory gives back exactly the same state', async (t) => {
  const dir = await tempDir(t)
  let db = await Database.open(dir)
  await db.addCollections(`${BOOKS} type Authors { name: String! }`)
  const ids = await db.createDocuments('Books', Array.from({ length: 50 }, (_, i) => ({ title: `T${i}`, pages: i })))
  await db.updateDocument('Books', ids[3]!, { read: true })
  await db.deleteDocument('Books', ids[4]!)
  const device = db.deviceID
  const snapshot = async (d: Database) => ({
    collections: await d.listCollections(),
    live: await d.listDocuments('Books', { sort: 'pages' }),
    trash: await d.listDocuments('Books', { deleted: true }),
    history: await d.history('Books', ids[3]!),
  })
  const before = await snapshot(db)
  await db.close()
  db = await Database.open(dir)
  t.after(() => db.close())
  assert.equal(db.deviceID, device, 'same device identity')
  assert.deepEqual(await snapshot(db), before)
})

test('a data directory in use by another node is refused with a clear error', async (t) => {
  const dir = await tempDir(t)
  const db = await Database.open(dir)
  t.after(() => db.close())
  await assert.rejects(Database.open(dir), isError('DATA_DIR_LOCKED', /in use by another running Tandem node/))
})
