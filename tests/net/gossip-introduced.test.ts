/**
 * A device that connects before the other counts it a member (an introduced device dials the
 * others at once; they hear of it from the introducer a moment later): once both count each other,
 * edits go by gossip both ways, at once. Gossipsub drops every message of a peer scored below its
 * graylist, subscriptions included, and never asks again: a stranger used to score there, so the
 * device that learned of the other late never knew what it followed, and each of its edits reached
 * it only through a nudge a second later (or not at all: gossip that had reached a third device).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually, startNode } from '../helpers/nodes.ts'

const NOTES = 'type Notes { title: String! }'
const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
/** Well under the nudge (a group exchange and a pull, 1 s after a publish that reached nobody). */
const BY_GOSSIP_MS = 600

test('a device that connected before it was known is, once a member, sent edits by gossip and heard from at once', async (t) => {
  const opts = { antiEntropyMs: 0 }
  const [b, c] = [await startNode(t, opts), await startNode(t, opts)]
  for (const n of [b, c]) await n.db.addCollections(NOTES)
  // C knows B (the introducer's group told it) and dials it; B has not heard of C yet.
  await c.group.setSecret(b.group.secret.bytes)
  await c.group.add({ deviceID: b.deviceID, name: 'b', addrs: b.addresses() })
  await eventually(() => c.connectedDevices().includes(b.deviceID), 'C connected to B')
  await settle(1500) // gossipsub's subscriptions have crossed; B has scored C as a stranger
  await b.group.add({ deviceID: c.deviceID, name: 'c', addrs: c.addresses() })
  // C writes at once: B counts C a member now, whatever its gossip still holds of C from before.
  const first = await c.db.createDocument('Notes', { title: 'from C, at once' })
  await eventually(() => b.db.getDocument('Notes', first).catch(() => undefined), 'C\'s first note on B', 5_000)
  await eventually(() => !b.syncing && !c.syncing, 'B and C in step')
  await settle(1200) // past any score gossipsub cached while C was a stranger
  for (const [from, to] of [[b, c], [c, b], [b, c]] as const) {
    const t0 = performance.now()
    const id = await from.db.createDocument('Notes', { title: `from ${from === b ? 'B' : 'C'}` })
    await eventually(() => to.db.getDocument('Notes', id).catch(() => undefined), 'the note on the other device', 5_000)
    const ms = performance.now() - t0
    assert.ok(ms < BY_GOSSIP_MS, `${from === b ? 'B → C' : 'C → B'} took ${Math.round(ms)} ms: not by gossip`)
  }
})
