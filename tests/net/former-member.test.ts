/**
 * "Former member" trust: what a device wrote while it was in the group still syncs after it was
 * removed (brought by a member), and what it writes after its removal is refused.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'

const NOTES = 'type Notes { title: String! n: Int }'

test('history a removed device wrote while a member reaches a third device through a member; what it writes later does not', async (t) => {
  const [a, b, c] = [await startNode(t), await startNode(t), await startNode(t)]
  for (const n of [a, b, c]) await n.db.addCollections(NOTES)
  await formGroup([a, b, c])
  await eventually(() => b.connectedDevices().length === 2 && a.connectedDevices().length === 2, 'all three connected')

  // A is offline while C writes; only B receives C's changes.
  await a.pause()
  await eventually(() => !b.connectedDevices().includes(a.deviceID), 'A offline')
  const ids = await c.db.createDocuments('Notes', [{ title: 'c1' }, { title: 'c2' }, { title: 'c3' }])
  await c.db.updateDocument('Notes', ids[0]!, { n: 1 })
  await eventually(async () => (await b.db.getDocument('Notes', ids[0]!).catch(() => undefined))?.fields.n === 1, 'C\'s changes on B')
  await eventually(() => b.db.getDocument('Notes', ids[2]!).catch(() => undefined), 'all of C\'s documents on B')

  // B removes C; C is told and leaves. C keeps its key and writes on.
  await b.removeDevice(c.deviceID)
  await eventually(() => c.group.list().length === 0, 'C left the group')
  const late = await c.db.updateDocument('Notes', ids[0]!, { n: 99 })
  const lateBytes = (await c.db.getBlock(late.heads[0]!))!

  // A learns of the removal first (as group sync would tell it; done here while A is offline so
  // that no sync can run before it), then comes back and resyncs: C's history arrives through B.
  await a.group.merge(b.group.state(b.addresses()), b.deviceID)
  assert.equal(a.group.has(c.deviceID), false)
  assert.equal(a.group.wasMember(c.deviceID), true)
  a.resume()
  for (const id of ids) await eventually(() => a.db.getDocument('Notes', id).catch(() => undefined), `C's document ${id} on A`, 20_000)
  assert.equal((await a.db.getDocument('Notes', ids[0]!)).fields.n, 1, 'the edit C made while a member')
  assert.equal(a.group.has(c.deviceID), false)

  // What C wrote after its removal is refused, from C itself and on every path it could take.
  const fromC = await a.db.applyBlocks([{ bytes: lateBytes }], { from: c.deviceID })
  assert.equal(fromC[0]!.status, 'rejected')
  assert.match(fromC[0]!.reason ?? '', /not a device of this group/)
  const atB = await b.db.applyBlocks([{ bytes: lateBytes }], { from: c.deviceID })
  assert.equal(atB[0]!.status, 'rejected', 'B knows of the removal too')
  await assert.rejects(c.syncWith(a.deviceID), /refused|not a device|closed|reset|network/i)
  await new Promise((r) => setTimeout(r, 500))
  for (const n of [a, b]) assert.equal((await n.db.getDocument('Notes', ids[0]!)).fields.n, 1, 'the late edit reached no member')

  // A device that never was a member gains nothing from being vouched for.
  const d = await startNode(t, { p2p: false })
  await d.db.addCollections(NOTES)
  const stranger = await d.db.createDocument('Notes', { title: 'stranger' })
  const strangerBytes = (await d.db.getBlock(stranger.slice(4)))!
  const vouched = await a.db.applyBlocks([{ bytes: strangerBytes }], { from: b.deviceID })
  assert.equal(vouched[0]!.status, 'rejected')
})
