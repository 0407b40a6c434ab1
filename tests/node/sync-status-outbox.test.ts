/**
 * Verified sync status of a device that is away: its replicator's outbox holds the changes made
 * here since (counted in the status), the collection shows as changed here since the last check,
 * and once the device is back the outbox drains and the status is verified in sync again.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TandemNode } from '../../main/node/tandem-node.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { tempDir } from '../helpers/tmp.ts'

test('sync status counts the outbox for a device that is away, then verifies in sync once it drained', async (t) => {
  const bDir = await tempDir(t)
  const a = await startNode(t, { antiEntropyMs: 500 })
  let b = await TandemNode.start({ dataDir: bDir, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, antiEntropyMs: 500 })
  t.after(() => b.stop())
  await a.db.addCollections('type Notes { title: String! }')
  await a.db.createDocument('Notes', { title: 'zero' })
  await formGroup([a, b])
  await a.replicators!.set({ target: b.deviceID, collections: ['Notes'] })
  await eventually(async () => (await a.syncStatusReport()).summary.inSync === 1, 'in sync with B')

  await b.stop()
  await eventually(() => !a.connectedDevices().includes(b.deviceID), 'B gone')
  await a.db.createDocuments('Notes', [{ title: 'one' }, { title: 'two' }, { title: 'three' }])
  const away = (await a.syncStatusReport()).devices.find((d) => d.deviceID === b.deviceID)!
  assert.equal(away.connected, false)
  assert.equal(away.outboxPending, 3, 'three changes wait in the outbox for B')
  assert.equal(away.collections.find((c) => c.name === 'Notes')!.state, 'changed-here')
  assert.equal(away.inSync, false)

  b = await TandemNode.start({ dataDir: bDir, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, antiEntropyMs: 500 })
  await b.dial(a.addresses()[0]!)
  const back = await eventually(async () => {
    const d = (await a.syncStatusReport()).devices.find((x) => x.deviceID === b.deviceID)!
    return d.outboxPending === 0 && d.inSync ? d : undefined
  }, 'the outbox drained and B verified in sync', 30_000)
  assert.equal(back.collections.find((c) => c.name === 'Notes')!.state, 'in-sync')
  assert.equal((await b.db.listDocuments('Notes')).total, 4)
})
