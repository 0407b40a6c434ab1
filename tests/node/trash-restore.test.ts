import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { createApi } from '../../main/api/implementation.ts'

test('trash on any device: a delete from A is in B\'s trash with its history; B restores it as a new change that reaches A', async (t) => {
  const [a, b] = [await startNode(t), await startNode(t)]
  await a.db.addCollections('type Notes { title: String! }')
  await b.db.addCollections('type Notes { title: String! }')
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  const id = await a.db.createDocument('Notes', { title: 'keep me' })
  await a.db.updateDocument('Notes', id, { title: 'keep me, edited' })
  await eventually(async () => (await b.db.listDocuments('Notes')).total === 1, 'on B')
  await a.db.deleteDocument('Notes', id)
  const apiB = createApi(b)
  const trash = await eventually(async () => {
    const r = await apiB.call('documents.list', { collection: 'Notes', deleted: true })
    return r.ok && (r.result as { total: number }).total === 1 ? r.result as { docs: Array<{ docID: string; fields: { title: string } }> } : undefined
  }, 'in B\'s trash')
  assert.equal(trash.docs[0]!.docID, id)
  assert.equal(trash.docs[0]!.fields.title, 'keep me, edited', 'the deleted document keeps its values')
  const history = await apiB.call('documents.history', { collection: 'Notes', docID: id })
  assert.ok(history.ok && (history.result as unknown[]).length === 3, 'create, edit, delete in its history')
  const restored = await apiB.call('documents.restore', { collection: 'Notes', docID: id })
  assert.ok(restored.ok, JSON.stringify(restored))
  await eventually(async () => !(await a.db.getDocument('Notes', id)).deleted, 'restore reached A')
  assert.equal((await a.db.getDocument('Notes', id)).fields.title, 'keep me, edited')
  const after = await apiB.call('documents.list', { collection: 'Notes', deleted: true })
  assert.ok(after.ok && (after.result as { total: number }).total === 0, 'the trash is empty again')
})
