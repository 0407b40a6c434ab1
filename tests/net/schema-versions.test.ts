/** Schema versions between two paired devices, real nodes on loopback and real LevelDB (issue 17). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TandemNode } from '../../main/node/tandem-node.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { visibleState } from '../helpers/replicas.ts'
import { tempDir } from '../helpers/tmp.ts'

const V1 = 'type Books { title: String! pages: Int }'

async function same(a: TandemNode, b: TandemNode): Promise<boolean> {
  const [ca, cb] = [await a.db.getCollection('Books'), await b.db.getCollection('Books')]
  if (ca.version !== cb.version || JSON.stringify(ca.schema) !== JSON.stringify(cb.schema)) return false
  return JSON.stringify(await visibleState(a.db, 'Books')) === JSON.stringify(await visibleState(b.db, 'Books'))
}

async function pair(t: Parameters<typeof tempDir>[0]): Promise<{ a: TandemNode; b: TandemNode; bDir: string }> {
  const a = await startNode(t)
  const bDir = await tempDir(t)
  const b = await TandemNode.start({ dataDir: bDir, listen: ['/ip4/127.0.0.1/tcp/0'] })
  t.after(() => b.stop())
  await a.db.addCollections(V1)
  await b.db.addCollections(V1)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  return { a, b, bDir }
}

test('B offline while A adds a field and writes it, B edits old fields offline; they converge, B learns the field, and a restart keeps it all', async (t) => {
  const { a, b, bDir } = await pair(t)
  const ids = await a.db.createDocuments('Books', [{ title: 'Dune', pages: 412 }, { title: 'Emma' }])
  await eventually(async () => (await b.db.listDocuments('Books')).total === 2, 'documents on B')
  await b.pause()
  await eventually(() => a.connectedDevices().length === 0, 'disconnected')
  const v2 = await a.db.updateCollection('type Books { title: String! pages: Int rating: Int }')
  await a.db.updateDocument('Books', ids[0]!, { rating: 5 })
  await a.db.createDocument('Books', { title: 'Ulysses', rating: 3 })
  await b.db.updateDocument('Books', ids[0]!, { pages: 500 })
  await b.db.updateDocument('Books', ids[1]!, { title: 'Emma (2nd ed.)' })
  b.resume()
  await eventually(() => same(a, b), 'converged', 30_000)
  const info = await b.db.getCollection('Books')
  assert.equal(info.version, v2.version, 'B learned the version')
  assert.deepEqual((await b.db.getDocument('Books', ids[0]!)).fields, { pages: 500, rating: 5, title: 'Dune' })
  assert.equal((await b.db.listDocuments('Books', { filter: { rating: { _gte: 3 } } })).total, 2)
  assert.deepEqual(await b.db.pendingBlocks(), [])

  // Live: a change of schema and a write under it reach B by gossip alone.
  const v3 = await a.db.updateCollection('type Books { title: String! pages: Int rating: Int isbn: String }')
  await a.db.updateDocument('Books', ids[1]!, { isbn: '978-0' })
  await eventually(async () => (await b.db.getDocument('Books', ids[1]!)).fields.isbn === '978-0', 'the new field on B')
  assert.equal((await b.db.getCollection('Books')).version, v3.version)

  const before = await visibleState(b.db, 'Books')
  const described = await b.db.getCollection('Books')
  await b.stop()
  const again = await TandemNode.start({ dataDir: bDir, listen: ['/ip4/127.0.0.1/tcp/0'] })
  t.after(() => again.stop())
  assert.deepEqual(await visibleState(again.db, 'Books'), before)
  assert.deepEqual((await again.db.getCollection('Books')).versions, described.versions)
})

test('concurrent compatible changes on both devices merge into one shape with both fields', async (t) => {
  const { a, b } = await pair(t)
  const id = await a.db.createDocument('Books', { title: 'Dune' })
  await eventually(async () => (await b.db.listDocuments('Books')).total === 1, 'document on B')
  await a.pause()
  await eventually(() => b.connectedDevices().length === 0, 'disconnected')
  await a.db.updateCollection('type Books { title: String! pages: Int rating: Int }')
  await b.db.updateCollection('type Books { title: String! pages: Int isbn: String }')
  await a.db.updateDocument('Books', id, { rating: 4 })
  await b.db.updateDocument('Books', id, { isbn: '978' })
  a.resume()
  await eventually(() => same(a, b), 'converged', 30_000)
  const doc = await a.db.getDocument('Books', id)
  assert.deepEqual(doc.fields, { isbn: '978', pages: null, rating: 4, title: 'Dune' })
  const info = await a.db.getCollection('Books')
  assert.equal(info.versions!.at(-1)!.merge, true)
  assert.equal(info.conflicts, undefined)
})

test('conflicting concurrent changes follow the rule (equal depth: lower version ID wins), with a notice on both devices and no value lost', async (t) => {
  const { a, b } = await pair(t)
  const id = await a.db.createDocument('Books', { title: 'Dune' })
  await eventually(async () => (await b.db.listDocuments('Books')).total === 1, 'document on B')
  await a.pause()
  await eventually(() => b.connectedDevices().length === 0, 'disconnected')
  const va = await a.db.updateCollection('type Books { title: String! pages: Int rating: Int }')
  const vb = await b.db.updateCollection('type Books { title: String! pages: Int rating: String }')
  await a.db.updateDocument('Books', id, { rating: 5 })
  await b.db.updateDocument('Books', id, { rating: 'five' })
  const notices: string[] = []
  a.db.on('schema-conflict', (e) => notices.push(`a:${e.conflicts[0]!.field}`))
  b.db.on('schema-conflict', (e) => notices.push(`b:${e.conflicts[0]!.field}`))
  a.resume()
  await eventually(() => same(a, b), 'converged', 30_000)
  assert.deepEqual(notices.sort(), ['a:rating', 'b:rating'])
  const winner = va.version < vb.version ? va : vb
  const info = await b.db.getCollection('Books')
  assert.equal(info.conflicts![0]!.winner, winner.version)
  assert.equal(info.schema.fields.find((f) => f.name === 'rating')!.type, winner === va ? 'Int' : 'String')
  // The document's rating register holds whichever block won it; if it does not fit the winning
  // type, it is shown as a conflict. Both values stay in the history.
  const doc = await b.db.getDocument('Books', id)
  const shown = doc.fields.rating ?? doc.typeConflicts?.rating
  assert.ok(shown === 5 || shown === 'five')
  const history = await b.db.history('Books', id)
  assert.ok(history.some((h) => h.fields.rating === 5) && history.some((h) => h.fields.rating === 'five'))
})

test('a replicator to a device without the collection brings the collection and every version its blocks were written under', async (t) => {
  const a = await startNode(t)
  const bDir = await tempDir(t)
  let b = await TandemNode.start({ dataDir: bDir, listen: ['/ip4/127.0.0.1/tcp/0'] })
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  await b.stop()
  await a.db.addCollections(V1)
  const first = await a.db.createDocuments('Books', Array.from({ length: 20 }, (_, i) => ({ title: `b${i}` })))
  await a.db.updateCollection('type Books { title: String! pages: Int rating: Int }')
  await a.db.createDocuments('Books', Array.from({ length: 20 }, (_, i) => ({ title: `r${i}`, rating: i })))
  await a.db.updateDocument('Books', first[0]!, { rating: 9 })
  await a.replicators!.set({ target: b.deviceID, collections: ['Books'] })
  b = await TandemNode.start({ dataDir: bDir, listen: ['/ip4/127.0.0.1/tcp/0'] })
  t.after(() => b.stop())
  await eventually(async () => b.db.hasCollection((await a.db.getCollection('Books')).id) && same(a, b), 'B has everything', 30_000)
  assert.equal((await b.db.getDocument('Books', first[0]!)).fields.rating, 9)
  assert.deepEqual(await b.db.pendingBlocks(), [])
})

test('a member that sends junk or forged versions gets them refused, and the device keeps syncing', async (t) => {
  const { lpStream } = await import('@libp2p/utils')
  const dagCbor = await import('@ipld/dag-cbor')
  const { PROTOCOL } = await import('../../main/net/schema-sync/constants.ts')
  const { a, b } = await pair(t)
  const coll = (await a.db.getCollection('Books')).id
  await a.db.updateCollection('type Books { title: String! pages: Int rating: Int }')
  await eventually(async () => (await b.db.getCollection('Books')).versionCount === 2, 'B has v2')
  const [, v2] = a.db.schemaVersions(coll)
  const forged = [
    { junk: true },
    { ...v2!, fields: v2!.fields.map((f) => (f.name === 'pages' ? { ...f, type: 'String' } : f)) }, // ID no longer matches
    { ...v2!, id: coll, parents: [] }, // claims to be the first version
    'not even an object',
  ]
  const rejected: string[] = []
  b.db.on('rejected', (e) => rejected.push(e.reason))
  const stream = await a.host!.dialProtocol(b.host!.peerId, PROTOCOL, { signal: AbortSignal.timeout(5000) })
  const lp = lpStream(stream, { maxDataLength: 4 * 1024 * 1024 })
  await lp.write(dagCbor.encode({ v: 1, have: [{ c: coll, ids: [] }], want: [] }))
  const answer = dagCbor.decode((await lp.read()).subarray()) as { versions: unknown[] }
  assert.equal(answer.versions.length, 2, 'a member is answered: both versions')
  await lp.write(dagCbor.encode({ versions: forged }))
  await stream.close().catch(() => {})
  await eventually(() => rejected.length >= 3, 'the forged versions refused')
  assert.equal((await b.db.getCollection('Books')).versionCount, 2)
  const v3 = await a.db.updateCollection('type Books { title: String! pages: Int rating: Int isbn: String }')
  await eventually(async () => (await b.db.getCollection('Books')).version === v3.version, 'B still learns real versions')
})
