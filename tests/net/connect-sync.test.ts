/**
 * What connecting costs: each device pulls from the other once (its own head exchange), and a new
 * device joining a group makes no device pull from the others it was already in step with.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import { eventually, formGroup, joinGroup, startNode } from '../helpers/nodes.ts'

/** The devices each node synced with, from now on. */
function syncs(node: TandemNode): string[] {
  const with_: string[] = []
  node.on('sync', (r) => with_.push(r.peer))
  return with_
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

test('on connect each device pulls from the other once; a third device joining makes the first two pull from nobody', async (t) => {
  const opts = { antiEntropyMs: 0 }
  const [a, b] = [await startNode(t, opts), await startNode(t, opts)]
  for (const n of [a, b]) await n.db.addCollections('type Notes { title: String }')
  await a.db.createDocument('Notes', { title: 'one' })
  // Its gossip reached nobody: A nudges the devices connected a second later (none, by then).
  await settle(1200)
  const [byA, byB] = [syncs(a), syncs(b)]
  await formGroup([a, b])
  await eventually(async () => (await b.db.listDocuments('Notes')).total === 1, 'the note on B')
  await settle(1500)
  assert.deepEqual(byA, [b.deviceID], 'A synced with B once')
  assert.deepEqual(byB, [a.deviceID], 'B synced with A once')

  // C joins: A and B each sync with C (and C with each), not with each other.
  const c = await startNode(t, opts)
  await c.db.addCollections('type Notes { title: String }')
  const byC = syncs(c)
  // C alone joins (re-adding A and B to each other would count as news).
  await joinGroup(c, [a, b])
  await eventually(async () => (await c.db.listDocuments('Notes')).total === 1, 'the note on C')
  await eventually(() => c.connectedDevices().length === 2 && !a.syncing && !b.syncing && !c.syncing, 'all three connected, settled')
  await settle(1500)
  assert.deepEqual(byA.slice(1), [c.deviceID], 'A synced with C alone')
  assert.deepEqual(byB.slice(1), [c.deviceID], 'B synced with C alone')
  assert.deepEqual([...byC].sort(), [a.deviceID, b.deviceID].sort(), 'C with each once')
})
