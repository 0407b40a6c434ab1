/** Backup export/import against real databases on disk (no network): round trips, merges, idempotence. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { Database } from '../../main/db/database.ts'
import { exportCar, exportJson, importBackup, type BackupContext } from '../../main/db/backup/index.ts'
import { tempDir } from '../helpers/tmp.ts'

type T = Parameters<typeof tempDir>[0]

async function open(t: T): Promise<Database> {
  const db = await Database.open(await tempDir(t))
  t.after(() => db.close())
  return db
}

function ctx(db: Database): BackupContext {
  return { db, deviceName: 'test', nameOf: () => '' }
}
const member = { isMember: () => true }

/** Books with history: edits, a delete, a schema update with a default; and Notes. */
async function author(t: T, books = 60): Promise<{ db: Database; ids: string[] }> {
  const db = await open(t)
  await db.addCollections('type Books { title: String! pages: Int } type Notes { text: String }')
  const ids = await db.createDocuments('Books', Array.from({ length: books }, (_, i) => ({ title: `book ${i}`, pages: i })))
  for (const id of ids.slice(0, 10)) await db.updateDocument('Books', id, { pages: 1000 })
  await db.deleteDocument('Books', ids[10]!)
  await db.updateCollection('type Books { title: String! pages: Int shelf: String! @default(value: "home") }')
  await db.updateDocument('Books', ids[0]!, { shelf: 'office' })
  await db.createDocuments('Notes', [{ text: 'a' }, { text: 'b' }])
  return { db, ids }
}

async function snapshot(db: Database, collection: string): Promise<unknown> {
  const out: Record<string, unknown> = {}
  const list = await db.listDocuments(collection, { limit: 10_000 })
  const trash = await db.listDocuments(collection, { limit: 10_000, deleted: true })
  for (const d of [...list.docs, ...trash.docs]) {
    out[d.docID] = { fields: d.fields, deleted: d.deleted, heads: d.heads, history: await db.history(collection, d.docID) }
  }
  return out
}

async function digests(db: Database): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const [id, d] of await db.collectionDigests()) out[id] = Buffer.from(d).toString('hex')
  return out
}

test('car: export, import into a fresh database gives the same documents, history and head digests; a second import changes nothing', async (t) => {
  const { db: a } = await author(t)
  const file = join(await tempDir(t), 'a.car')
  const ex = await exportCar(ctx(a), file)
  assert.deepEqual(ex.collections.map((c) => [c.name, c.docs]), [['Books', 60], ['Notes', 2]])
  const b = await open(t)
  const r = await importBackup(ctx(b), file, member)
  assert.equal(r.summary, 'Imported 60 documents into Books; 0 already here. Imported 2 documents into Notes; 0 already here.')
  for (const c of ['Books', 'Notes']) assert.deepEqual(await snapshot(b, c), await snapshot(a, c))
  assert.deepEqual(await digests(b), await digests(a))
  assert.deepEqual((await b.getCollection('Books')).version, (await a.getCollection('Books')).version)
  const again = await importBackup(ctx(b), file, member)
  assert.equal(again.blocks!.applied, 0)
  assert.match(again.summary, /Imported 0 documents into Books; 60 already here/)
})

test('car: importing into a database that holds part of the data merges it', async (t) => {
  const { db: a, ids } = await author(t, 30)
  const part = join(await tempDir(t), 'part.car')
  await exportCar(ctx(a), part, ['Books'])
  const b = await open(t)
  await importBackup(ctx(b), part, member)
  // Both go on: a edits and adds on a; b edits its copy of the same document.
  await a.updateDocument('Books', ids[1]!, { title: 'from a' })
  await a.createDocument('Books', { title: 'new on a' })
  await b.updateDocument('Books', ids[2]!, { title: 'from b' })
  const whole = join(await tempDir(t), 'whole.car')
  await exportCar(ctx(a), whole)
  const r = await importBackup(ctx(b), whole, member)
  assert.match(r.summary, /Imported 1 document into Books; 30 already here/)
  assert.match(r.summary, /Imported 2 documents into Notes/)
  assert.equal((await b.getDocument('Books', ids[1]!)).fields.title, 'from a')
  assert.equal((await b.getDocument('Books', ids[2]!)).fields.title, 'from b')
  assert.equal((await b.listDocuments('Books')).total, 30)
})

test('json: export, import into a fresh database gives the same documents (new docIDs); a second import changes nothing', async (t) => {
  const { db: a } = await author(t)
  const file = join(await tempDir(t), 'a.json')
  await exportJson(ctx(a), file)
  const parsed = JSON.parse(await readFile(file, 'utf8'))
  assert.equal(parsed._tandem.format, 'tandem-backup-json')
  assert.equal(parsed.Books.length, 59)
  assert.match(parsed.Books[0]._docID, /^bae-/)
  const b = await open(t)
  const r = await importBackup(ctx(b), file, member)
  assert.equal(r.summary, 'Imported 59 documents into Books; 0 already here. Imported 2 documents into Notes; 0 already here.')
  const fieldsOf = async (db: Database): Promise<unknown[]> => (await db.listDocuments('Books', { limit: 1000 })).docs.map((d) => d.fields)
    .sort((x, y) => String(x.title).localeCompare(String(y.title)))
  assert.deepEqual(await fieldsOf(b), await fieldsOf(a))
  const again = await importBackup(ctx(b), file, member)
  assert.match(again.summary, /Imported 0 documents into Books; 59 already here/)
  assert.equal((await b.listDocuments('Books')).total, 59)
})

test('car: a file that lacks a block its document links (neither before it in the file nor here) is refused, naming it; nothing written', async (t) => {
  const { db: a, ids } = await author(t, 12)
  const file = join(await tempDir(t), 'a.car')
  await exportCar(ctx(a), file)
  // Drop the genesis block of the first edited document: its edit then links a block that is nowhere.
  const { CarReader } = await import('@ipld/car/reader')
  const { CarWriter } = await import('@ipld/car/writer')
  const reader = await CarReader.fromBytes(new Uint8Array(await readFile(file)))
  const genesis = ids[0]!.slice(4)
  const kept = []
  for await (const b of reader.blocks()) if (b.cid.toString() !== genesis) kept.push(b)
  const { writer, out } = CarWriter.create(await reader.getRoots())
  const chunks: Uint8Array[] = []
  const collect = (async () => { for await (const c of out) chunks.push(c) })()
  for (const b of kept) await writer.put(b)
  await writer.close()
  await collect
  const broken = join(await tempDir(t), 'broken.car')
  const { writeFile } = await import('node:fs/promises')
  await writeFile(broken, Buffer.concat(chunks))
  const b = await open(t)
  await assert.rejects(importBackup(ctx(b), broken, member), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'BACKUP_INVALID')
    assert.match(err.message, new RegExp(`block #\\d+ \\(byte offset \\d+, .*\\) links ${genesis}, which is neither before it`))
    return true
  })
  assert.deepEqual(await b.listCollections(), [], 'nothing written')
})

test('a collection whose later version has counters round-trips through a backup, counters and all', async (t) => {
  const a = await open(t)
  await a.addCollections('type Posts { title: String! }')
  const old = await a.createDocument('Posts', { title: 'before the counter' })
  await a.updateCollection('type Posts { title: String! likes: Int @crdt(type: pncounter) @default(value: 5) }')
  await a.incrementDocument('Posts', old, 'likes', 2)
  const fresh = await a.createDocument('Posts', { title: 'after', likes: 1 })
  await a.incrementDocument('Posts', fresh, 'likes', 1)
  const file = join(await tempDir(t), 'posts.car')
  await exportCar(ctx(a), file)
  const b = await open(t)
  const r = await importBackup(ctx(b), file, member)
  assert.match(r.summary, /Imported 2 documents into Posts/)
  assert.equal((await b.getDocument('Posts', old)).fields.likes, 7, 'its default 5, then +2')
  assert.equal((await b.getDocument('Posts', fresh)).fields.likes, 2)
  assert.deepEqual(await snapshot(b, 'Posts'), await snapshot(a, 'Posts'))
})
