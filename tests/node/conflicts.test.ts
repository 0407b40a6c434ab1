/**
 * Two real nodes (libp2p on 127.0.0.1, LevelDB): offline edits of the same field show the same
 * conflict on both; resolving on one clears it on both; a delete concurrent with an edit keeps the
 * document deleted and shows the edit. Through the API contract, as the window and CLI use it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { createApi } from '../../main/api/implementation.ts'
import type { DocumentView } from '../../shared/types.ts'
import type { TandemNode } from '../../main/node/tandem-node.ts'

async function call<T>(node: TandemNode, name: string, input: unknown): Promise<T> {
  const r = await createApi(node).call(name, input)
  if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.message}`)
  return r.result as T
}

async function twoNodes(t: Parameters<typeof startNode>[0]): Promise<[TandemNode, TandemNode]> {
  const [a, b] = [await startNode(t), await startNode(t)]
  await a.db.addCollections('type Notes { title: String! body: String }')
  await b.db.addCollections('type Notes { title: String! body: String }')
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  return [a, b]
}

test('offline edits of one field on two nodes: the same conflict on both; resolve on one clears both', { timeout: 60_000 }, async (t) => {
  const [a, b] = await twoNodes(t)
  const id = await a.db.createDocument('Notes', { title: 'n', body: 'start' })
  await eventually(async () => (await b.db.listDocuments('Notes')).total === 1, 'on B')
  await a.pause()
  await b.pause()
  await call(a, 'documents.update', { collection: 'Notes', docID: id, patch: { body: 'laptop text' } })
  await call(b, 'documents.update', { collection: 'Notes', docID: id, patch: { body: 'phone text' } })
  await a.resume()
  await b.resume()
  const seen = await Promise.all([a, b].map((n) => eventually(async () => {
    const d = await call<DocumentView>(n, 'documents.get', { collection: 'Notes', docID: id })
    return d.conflicts?.body !== undefined && d.heads.length === 2 ? d : undefined
  }, 'the conflict', 30_000)))
  assert.deepEqual(seen[0]!.fields, seen[1]!.fields)
  assert.deepEqual(seen[0]!.conflicts!.body!.map((c) => c.cid), seen[1]!.conflicts!.body!.map((c) => c.cid))
  const loser = seen[0]!.conflicts!.body![0]!
  assert.deepEqual([seen[0]!.fields.body, loser.value].sort(), ['laptop text', 'phone text'])
  assert.equal(typeof loser.deviceName, 'string', 'the losing value names its device')
  const status = await call<{ summary: { conflicts?: Array<{ name: string; docs: number }> } }>(a, 'sync.status', {})
  assert.deepEqual(status.summary.conflicts?.map((c) => [c.name, c.docs]), [['Notes', 1]])
  const listed = await call<{ total: number }>(b, 'documents.list', { collection: 'Notes', conflicts: true })
  assert.equal(listed.total, 1)

  await call(b, 'documents.resolve', { collection: 'Notes', docID: id, field: 'body', pick: loser.cid })
  for (const n of [a, b]) {
    await eventually(async () => {
      const d = await call<DocumentView>(n, 'documents.get', { collection: 'Notes', docID: id })
      return d.conflicts === undefined && d.fields.body === loser.value
    }, 'cleared', 30_000)
  }
})

test('a delete concurrent with an edit on another node: deleted on both, the edit merged and shown', { timeout: 60_000 }, async (t) => {
  const [a, b] = await twoNodes(t)
  const id = await a.db.createDocument('Notes', { title: 'n', body: 'start' })
  await eventually(async () => (await b.db.listDocuments('Notes')).total === 1, 'on B')
  await a.pause()
  await b.pause()
  await call(a, 'documents.delete', { collection: 'Notes', docID: id })
  await call(b, 'documents.update', { collection: 'Notes', docID: id, patch: { body: 'edited on b' } })
  await a.resume()
  await b.resume()
  for (const n of [a, b]) {
    const d = await eventually(async () => {
      const d = await call<DocumentView>(n, 'documents.get', { collection: 'Notes', docID: id })
      return d.deleted && d.conflicts?._deleted !== undefined ? d : undefined
    }, 'deleted with the edit shown', 30_000)
    assert.equal(d.fields.body, 'edited on b', 'the edit merged into the fields')
    assert.deepEqual(d.conflicts!._deleted![0]!.fields, { body: 'edited on b' })
    assert.equal(d.conflicts!._deleted![0]!.device, b.deviceID)
  }
})

test('offline increments on two nodes add up on both', { timeout: 60_000 }, async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  const sdl = 'type Posts { title: String! likes: Int @crdt(type: pncounter) }'
  await a.db.addCollections(sdl)
  await b.db.addCollections(sdl)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  const id = await a.db.createDocument('Posts', { title: 'p', likes: 100 })
  await eventually(async () => (await b.db.listDocuments('Posts')).total === 1, 'on B')
  await a.pause()
  await b.pause()
  for (let i = 0; i < 3; i++) await call(a, 'documents.increment', { collection: 'Posts', docID: id, field: 'likes', amount: 2 })
  await call(b, 'documents.increment', { collection: 'Posts', docID: id, field: 'likes', amount: -7 })
  await a.resume()
  await b.resume()
  for (const n of [a, b]) {
    await eventually(async () => (await call<DocumentView>(n, 'documents.get', { collection: 'Posts', docID: id })).fields.likes === 99, 'likes = 100 + 6 - 7', 30_000)
  }
  assert.equal((await a.db.getDocument('Posts', id)).conflicts, undefined)
})
