/**
 * Replicating a collection that is still empty: the target gets the collection (schemas otherwise
 * travel only with blocks), so it lists it and the verified sync status goes from "not on that
 * device" to in sync at once, not only after a first document is written.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'

test('an empty collection replicated is created at the target and verified in sync', async (t) => {
  const [a, b] = [await startNode(t, { antiEntropyMs: 500 }), await startNode(t, { antiEntropyMs: 500 })]
  await a.db.addCollections('type Notes { title: String! }')
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  // Checked on connect: B does not hold Notes.
  await eventually(async () => (await a.syncStatusReport()).devices[0]!.collections[0]!.state === 'not-there', 'not there before')
  await a.replicators!.set({ target: b.deviceID, collections: ['Notes'] })
  await eventually(() => a.replicators!.state(b.deviceID)!.initialSync.state === 'done', 'initial sync done')
  const notes = await eventually(async () => (await b.db.listCollections()).find((c) => c.name === 'Notes'), 'Notes at B')
  assert.equal(notes.count, 0)
  assert.equal(notes.partial, undefined)
  await eventually(async () => (await a.syncStatusReport()).devices[0]!.collections[0]!.state === 'in-sync', 'verified in sync')
  // And it fills like any other: a first document reaches B by the replicator.
  await a.db.createDocument('Notes', { title: 'first' })
  await eventually(async () => (await b.db.listDocuments('Notes')).total === 1, 'the first note at B')
})
