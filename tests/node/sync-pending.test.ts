/**
 * A block that arrived without its ancestors (pending) must not hide from head exchange that its
 * document still lacks blocks: found by the chaos harness (seed 1), where a node kept two pending
 * blocks forever while connected to peers that had their ancestors.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'

const NOTES = 'type Notes { title: String! body: String }'

test('head exchange fetches the ancestors of a document whose head is here only as a pending block', async (t) => {
  let apart = true
  const a = await startNode(t, { denyPeers: () => apart })
  const b = await startNode(t, { denyPeers: () => apart })
  await a.db.addCollections(NOTES)
  await b.db.addCollections(NOTES)
  await formGroup([a, b])
  const id = await a.db.createDocument('Notes', { title: 'first' })
  const edit = await a.db.updateDocument('Notes', id, { body: 'second' })
  const head = edit.heads[0]!
  // B gets the edit alone (as from gossip whose ancestor fetch failed): it waits, pending.
  const [r] = await b.db.applyBlocks([{ bytes: (await a.db.getBlock(head))! }])
  assert.equal(r!.status, 'pending')
  apart = false
  await b.dial(a.addresses()[0]!)
  await eventually(async () => (await b.db.getDocument('Notes', id).catch(() => undefined))?.fields.body === 'second', 'B resynced the document')
  assert.deepEqual(await b.db.pendingBlocks(), [])
})
