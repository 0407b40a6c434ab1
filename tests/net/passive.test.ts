import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { visibleState } from '../helpers/replicas.ts'

const BOOKS = 'type Books { title: String! pages: Int read: Boolean }'

test('a document created on A appears on B by gossip, and the update after it', async (t) => {
  const a = await startNode(t)
  const b = await startNode(t)
  await a.db.addCollections(BOOKS)
  await b.db.addCollections(BOOKS)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'A and B connected')
  await eventually(() => b.gossip!.topics().length > 0 && a.host!.services.pubsub.getSubscribers(a.gossip!.topics()[0]!).length > 0, 'gossip mesh')
  const id = await a.db.createDocument('Books', { title: 'Dune' })
  const doc = await eventually(() => b.db.getDocument('Books', id).catch(() => undefined), 'doc on B')
  assert.equal(doc.fields.title, 'Dune')
  await a.db.updateDocument('Books', id, { pages: 412 })
  await eventually(async () => (await b.db.getDocument('Books', id)).fields.pages === 412, 'update on B')
})

test('concurrent updates of one field converge to the same winner; different fields are both kept', async (t) => {
  const a = await startNode(t)
  const b = await startNode(t)
  await a.db.addCollections(BOOKS)
  await b.db.addCollections(BOOKS)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  const id = await a.db.createDocument('Books', { title: 'Dune' })
  await eventually(() => b.db.getDocument('Books', id).catch(() => undefined), 'doc on B')
  await Promise.all([
    a.db.updateDocument('Books', id, { title: 'From A', pages: 1 }),
    b.db.updateDocument('Books', id, { title: 'From B', read: true }),
  ])
  await eventually(async () => {
    const [x, y] = [await a.db.getDocument('Books', id), await b.db.getDocument('Books', id)]
    return x.heads.length === 2 && JSON.stringify(x) === JSON.stringify(y)
  }, 'both sides hold both branches')
  const doc = await a.db.getDocument('Books', id)
  assert.ok(doc.fields.title === 'From A' || doc.fields.title === 'From B')
  assert.equal(doc.fields.pages, 1)
  assert.equal(doc.fields.read, true)
  assert.deepEqual(await visibleState(a.db, 'Books'), await visibleState(b.db, 'Books'))
})
