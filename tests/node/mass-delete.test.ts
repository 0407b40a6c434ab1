import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { createApi } from '../../main/api/implementation.ts'
import { bridgeEvents } from '../../main/api/event-bridge.ts'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import type { HeldBatchInfo, HeldOutcome } from '../../shared/api/index.ts'
import type { ListResult } from '../../shared/types.ts'
import { tempDir } from '../helpers/tmp.ts'

const SDL = 'type Books { title: String! }'

/** A and B in one group, 40 Books written on A and synced to B. */
async function pair(t: Parameters<typeof startNode>[0], dataDirA?: string): Promise<{ a: TandemNode; b: TandemNode; ids: string[] }> {
  const [a, b] = [await startNode(t, { antiEntropyMs: 500, ...(dataDirA !== undefined ? { dataDir: dataDirA } : {}) }), await startNode(t)]
  await a.db.addCollections(SDL)
  await b.db.addCollections(SDL)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  const ids = await a.db.createDocuments('Books', Array.from({ length: 40 }, (_, i) => ({ title: `book ${i}` })))
  await eventually(async () => (await b.db.listDocuments('Books')).total === 40, '40 books on B')
  return { a, b, ids }
}

async function deleteOn(node: TandemNode, ids: string[]): Promise<void> {
  for (const id of ids) await node.db.deleteDocument('Books', id)
}

async function call<T>(node: TandemNode, name: string, input: unknown): Promise<T> {
  const r = await createApi(node).call(name, input)
  if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.message}`)
  return r.result as T
}

async function heldOn(node: TandemNode, docs: number): Promise<HeldBatchInfo> {
  return eventually(async () => {
    const batches = await call<HeldBatchInfo[]>(node, 'sync.held', {})
    return batches.length === 1 && batches[0]!.docs === docs ? batches[0] : undefined
  }, `${docs} held deletions`)
}

async function digestsEqual(a: TandemNode, b: TandemNode): Promise<boolean> {
  const [da, db] = [await a.db.collectionDigests(), await b.db.collectionDigests()]
  return [...da].every(([id, d]) => Buffer.from(d).equals(Buffer.from(db.get(id) ?? [])))
}

test('B deletes 30 of 40 Books: A holds them (still 40, marked held, not in the trash, heads equal), keeps them over a restart, and reject restores all 40 on A and B', async (t) => {
  const dirA = await tempDir(t)
  const { a, b, ids } = await pair(t, dirA)
  const events: Array<{ batches: HeldBatchInfo[] }> = []
  const detach = bridgeEvents(a, createApi(a), (event, data) => { if (event === 'sync:held') events.push(data as { batches: HeldBatchInfo[] }) })
  await deleteOn(b, ids.slice(0, 30))
  const batch = await heldOn(a, 30)
  detach()
  assert.equal(batch.device, b.deviceID)
  assert.equal(batch.deviceName, `node-${b.deviceID.slice(-4)}`, 'named as the group knows the device')
  assert.ok(events.length > 0 && events.at(-1)!.batches[0]?.id === batch.id, 'the window hears of it (sync:held)')
  assert.equal(batch.collectionName, 'Books')
  assert.equal(batch.liveAtStart, 40)
  const list = await call<ListResult>(a, 'documents.list', { collection: 'Books' })
  assert.equal(list.total, 40, 'A still lists 40')
  assert.equal(list.docs.filter((d) => d.held?.batch === batch.id).length, 30, '30 of them marked held')
  assert.equal(list.docs.filter((d) => d.deleted).length, 0)
  assert.equal((await call<ListResult>(a, 'documents.list', { collection: 'Books', deleted: true })).total, 0, 'held documents are not in the trash')
  assert.equal((await a.db.getCollection('Books')).count, 40)
  await eventually(() => digestsEqual(a, b), 'equal head digests: the delete blocks are stored, sync is whole')
  // Sync status stays honest: B is in sync (the blocks are all here), and 30 deletions wait for the person.
  await eventually(async () => {
    const r = await a.syncStatusReport()
    return r.devices[0]?.inSync === true && r.summary.heldDeletes === 30
  }, 'A: B in sync, 30 deletions held')
  assert.equal((await b.db.listDocuments('Books')).total, 10, 'B, the author, sees its own deletions')

  // A change from another device for a held document loses nothing: B restores one, A's hold on it ends.
  await b.db.restoreDocument('Books', ids[0]!)
  await heldOn(a, 29)

  // Held state survives a restart of A.
  await a.stop()
  const a2 = await startNode(t, { dataDir: dirA })
  await eventually(() => a2.connectedDevices().includes(b.deviceID), 'reconnected')
  const again = await heldOn(a2, 29)
  assert.equal(again.id, batch.id)
  assert.equal((await a2.db.listDocuments('Books')).total, 40)

  const out = await call<HeldOutcome>(a2, 'sync.reject', { id: batch.id })
  assert.equal(out.restored, 29)
  assert.deepEqual(await call<HeldBatchInfo[]>(a2, 'sync.held', {}), [])
  await eventually(async () => (await b.db.listDocuments('Books')).total === 40, 'all 40 alive on B again')
  assert.equal((await a2.db.listDocuments('Books')).total, 40)
  assert.equal((await a2.db.listDocuments('Books', { deleted: true })).total, 0)
  await eventually(() => digestsEqual(a2, b), 'in sync after the restores')
  assert.deepEqual(await call<HeldBatchInfo[]>(b, 'sync.held', {}), [], 'the restores are not held anywhere')
  const bad = await createApi(a2).call('sync.reject', { id: batch.id })
  assert.ok(!bad.ok && bad.error.code === 'NOT_FOUND' && /no held deletion batch/.test(bad.error.message), JSON.stringify(bad))
})

test('release keeps the deletions: 10 alive on A and B, 30 in A\'s trash; an edit on A to a held document keeps that one', async (t) => {
  const { a, b, ids } = await pair(t)
  await deleteOn(b, ids.slice(0, 30))
  const batch = await heldOn(a, 30)
  const edited = await a.db.updateDocument('Books', ids[5]!, { title: 'keep this one' })
  assert.equal(edited.deleted, false)
  assert.equal(edited.held, undefined)
  await heldOn(a, 29)
  await eventually(async () => !(await b.db.getDocument('Books', ids[5]!)).deleted, 'the edit restored it on B too')
  const out = await call<HeldOutcome>(a, 'sync.release', { id: batch.id })
  assert.equal(out.batch.docs, 29)
  assert.equal((await a.db.listDocuments('Books')).total, 11)
  assert.equal((await a.db.listDocuments('Books', { deleted: true })).total, 29, 'released deletions are in the trash')
  assert.equal((await a.db.getCollection('Books')).count, 11)
  await eventually(async () => (await b.db.listDocuments('Books')).total === 11, '11 alive on B')
  assert.equal((await b.db.getDocument('Books', ids[5]!)).fields.title, 'keep this one')
  assert.deepEqual(a.db.heldBatches(), [])

  // A new device learning this history (creations, then 29 deletions) is not a mass delete.
  const c = await startNode(t)
  await c.db.addCollections(SDL)
  await c.group.setSecret(a.group.secret.bytes)
  await c.group.add({ deviceID: a.deviceID, name: 'A', addrs: a.addresses() })
  await a.group.add({ deviceID: c.deviceID, name: 'C', addrs: c.addresses() })
  await eventually(async () => (await c.db.listDocuments('Books', { deleted: true })).total === 29, 'the history reached C')
  assert.equal((await c.db.listDocuments('Books')).total, 11)
  assert.deepEqual(c.db.heldBatches(), [])
})

test('below the threshold (5 of 40) deletions apply at once; bad batch IDs are refused in words', async (t) => {
  const { a, b, ids } = await pair(t)
  await deleteOn(b, ids.slice(0, 5))
  await eventually(async () => (await a.db.listDocuments('Books')).total === 35, '35 alive on A')
  assert.equal((await a.db.listDocuments('Books', { deleted: true })).total, 5)
  assert.deepEqual(a.db.heldBatches(), [])
  const api = createApi(a)
  const unknown = await api.call('sync.release', { id: 'abcd1234' })
  assert.ok(!unknown.ok && unknown.error.code === 'NOT_FOUND' && /no deletions are held/.test(unknown.error.message), JSON.stringify(unknown))
  const malformed = await api.call('sync.reject', { id: 'not an id!' })
  assert.ok(!malformed.ok && malformed.error.code === 'INVALID_INPUT', JSON.stringify(malformed))
  const missing = await api.call('sync.release', {})
  assert.ok(!missing.ok && missing.error.code === 'INVALID_INPUT', JSON.stringify(missing))
})
