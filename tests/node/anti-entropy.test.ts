import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'

const NOTES = 'type Notes { title: String! n: Int }'
const PERIOD = 1000

async function pairWithLostGossip(t: Parameters<typeof startNode>[0], antiEntropyMs: number): Promise<[TandemNode, TandemNode]> {
  const [a, b] = [await startNode(t, { antiEntropyMs }), await startNode(t, { antiEntropyMs })]
  await a.db.addCollections(NOTES)
  await b.db.addCollections(NOTES)
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID) && b.connectedDevices().includes(a.deviceID), 'connected')
  // The sync on connect is done (nothing to do): from now on every gossip message is lost.
  // Let the group exchanges and syncs that pairing starts settle (setup, not an assertion).
  await new Promise((r) => setTimeout(r, 2000))
  await eventually(() => !a.syncing && !b.syncing, 'sync on connect finished')
  a.gossip!.dropOutgoing = true
  b.gossip!.dropOutgoing = true
  return [a, b]
}

test('every gossip message dropped: all edits still arrive within an anti-entropy period', async (t) => {
  const [a, b] = await pairWithLostGossip(t, PERIOD)
  const ids = await a.db.createDocuments('Notes', Array.from({ length: 30 }, (_, i) => ({ title: `a ${i}` })))
  await a.db.updateDocument('Notes', ids[0]!, { n: 7 })
  await b.db.createDocument('Notes', { title: 'from b' })
  const written = Date.now()
  await eventually(async () => (await b.db.listDocuments('Notes')).total === 31 && (await a.db.listDocuments('Notes')).total === 31, 'edits arrived both ways', 15_000)
  const took = Date.now() - written
  assert.equal((await b.db.getDocument('Notes', ids[0]!)).fields.n, 7)
  // One period plus the exchange itself; generous for a loaded 2-core machine.
  assert.ok(took < PERIOD * 4, `arrived in ${took} ms, period ${PERIOD} ms`)
  assert.ok(a.antiEntropy!.rounds > 0 && b.antiEntropy!.rounds > 0)
})

test('control: with anti-entropy off and gossip dropped, the edit does not arrive', async (t) => {
  const [a, b] = await pairWithLostGossip(t, 0)
  await a.db.createDocument('Notes', { title: 'lost' })
  await new Promise((r) => setTimeout(r, PERIOD * 3))
  assert.equal((await b.db.listDocuments('Notes')).total, 0, 'nothing else repaired the lost gossip')
})
