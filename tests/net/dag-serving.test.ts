/**
 * DAG sync knows who is pulling from it (a replicator's initial sync waits for the target's own pull
 * to finish rather than push the same blocks): true from the request until the asker has applied
 * what it read and closed its end, false after.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'

test('servingTo: the asker counts as pulling until its fetch is over', async (t) => {
  const [a, b] = [await startNode(t, { antiEntropyMs: 0 }), await startNode(t, { antiEntropyMs: 0 })]
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID) && !a.syncing && !b.syncing, 'connected, settled')
  await a.db.addCollections('type Items { n: Int }')
  await a.db.createDocuments('Items', Array.from({ length: 4000 }, (_, i) => ({ n: i })))
  const heads = (await a.db.listDocuments('Items', { limit: 4000 })).docs.flatMap((d) => d.heads)
  await b.db.importCollection((await a.db.getCollection('Items')).id, a.db.collectionSDL((await a.db.getCollection('Items')).id)!)
  assert.equal(a.dagSync!.servingTo(b.deviceID), false)
  let seen = false
  let gap = false // not serving any more while B still fetched (applied what it had read)
  let fetching = true
  const poll = (async () => {
    while (fetching) {
      const now = a.dagSync!.servingTo(b.deviceID)
      if (now) seen = true
      else if (seen && fetching) gap = true
      await new Promise((r) => setTimeout(r, 5))
    }
  })()
  const r = await b.dagSync!.fetch(a.host!.peerId, heads)
  fetching = false
  await poll
  assert.equal(r.received, 4000) // (some may have come by gossip meanwhile)
  // The asker closed its end after applying; the server hears of it at once (loopback).
  await eventually(() => !a.dagSync!.servingTo(b.deviceID), 'no longer serving B', 5000)
  assert.ok(seen, 'A counted B as pulling while it fetched')
  assert.ok(!gap, 'A counted B as pulling until B was done, not only while A sent')
  assert.equal(a.dagSync!.servingTo(a.deviceID), false)
})
