/**
 * Sync you can trust, through the CLI and the API of two real `tandem start` processes:
 * `--anti-entropy` sets the period, `tandem client sync status` shows the other device and each
 * collection verified in sync (with the check time), the API sends `sync:status` events, a delete
 * on one device is in the other's `doc trash` with its values and `doc restore` there brings it
 * back everywhere, and a stopped device shows as disconnected with its last-seen time.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { ApiClient } from '../../main/api/ws-client.ts'
import type { SyncStatusReport } from '../../shared/api/sync-status.ts'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'
import { apiFile, client, startDaemon } from './cli.ts'

test('CLI: sync status verified per device and collection, sync:status events, trash and restore on the other device', { timeout: 120_000 }, async (t) => {
  const root = await tempDir(t)
  const [dirA, dirB] = [join(root, 'a'), join(root, 'b')]
  const [, b] = await Promise.all([
    startDaemon(t, dirA, ['--device-name', 'laptop', '--anti-entropy', '1']),
    startDaemon(t, dirB, ['--device-name', 'desk', '--anti-entropy', '1']),
  ])
  await client(dirB, 'pair', 'join', (await client(dirA, 'pair', 'invite')).uri)
  // Waiting is done over the API (a CLI run costs a process start); what is asserted of the CLI runs it.
  const connect = async (dir: string): Promise<ApiClient> => {
    const { address, token } = apiFile(dir)
    const api = await ApiClient.connect(address, token)
    t.after(() => api.close())
    return api
  }
  const [apiA, apiB] = await Promise.all([connect(dirA), connect(dirB)])
  const peerB = (await apiB.call('node.info', {})).peerID
  await client(dirA, 'collection', 'add', 'type Books { title: String! }')
  const { docIDs } = await client<{ docIDs: string[] }>(dirA, 'doc', 'create', 'Books', '[{"title": "Dune"}, {"title": "Emma"}]')
  const written = Date.now()
  await apiA.call('replicators.set', { target: peerB, collections: ['Books'] })
  const events: SyncStatusReport[] = []
  apiA.onEvent<'sync:status'>((_e, r) => { events.push(r) })
  await apiA.subscribe(['sync:status'])

  // Verified, not guessed: in sync only after a head exchange that followed the writes.
  await eventually(async () => (await apiA.call('sync.status', {})).summary.inSync === 1, 'A verifies B in sync', 30_000)
  const s = await client<SyncStatusReport>(dirA, 'sync', 'status')
  assert.equal(s.summary.inSync, 1, JSON.stringify(s))
  assert.equal(s.antiEntropyMs, 1000, '--anti-entropy 1 is the period')
  assert.equal(s.devices.length, 1)
  const dev = s.devices[0]!
  assert.equal(dev.deviceID, peerB)
  assert.equal(dev.name, 'desk')
  assert.equal(dev.connected, true)
  assert.equal(dev.outboxPending, 0)
  const books = dev.collections.find((c) => c.name === 'Books')!
  assert.equal(books.state, 'in-sync')
  assert.ok(books.checkedAt! >= written && books.checkedAt! <= Date.now(), 'the check time is after the writes')
  assert.equal(s.summary.verifiedAt, Math.min(...dev.collections.map((c) => c.checkedAt!)))
  // The API's event: each check sends the status (anti-entropy checks every second here).
  await eventually(() => events.some((r) => r.summary.inSync === 1 && r.summary.verifiedAt! > s.summary.verifiedAt!), 'a sync:status event from a later check')

  // Trash on any device: deleted on A, listed with its values on B, restored from B, alive on A.
  await apiA.call('documents.delete', { collection: 'Books', docID: docIDs[0]! })
  await eventually(async () => (await apiB.call('documents.list', { collection: 'Books', deleted: true })).total === 1, 'the delete reached B', 30_000)
  const trash = await client<{ total: number; docs: Array<{ docID: string; fields: { title: string } }> }>(dirB, 'doc', 'trash', 'Books')
  assert.equal(trash.total, 1)
  assert.equal(trash.docs[0]!.docID, docIDs[0])
  assert.equal(trash.docs[0]!.fields.title, 'Dune', 'a deleted document keeps its values')
  await client(dirB, 'doc', 'restore', 'Books', docIDs[0]!)
  await eventually(async () => !(await apiA.call('documents.get', { collection: 'Books', docID: docIDs[0]! })).deleted, 'the restore reached A', 30_000)
  assert.equal((await apiA.call('documents.get', { collection: 'Books', docID: docIDs[0]! })).fields.title, 'Dune')
  assert.equal((await apiA.call('documents.list', { collection: 'Books', deleted: true })).total, 0)
  assert.equal((await apiA.call('documents.list', { collection: 'Books' })).total, 2)

  // B stops: disconnected, with when it was last seen (not "never connected"); an event says so.
  assert.equal(await b.stop(), 0)
  await eventually(async () => !(await apiA.call('sync.status', {})).devices[0]!.connected, 'A sees B gone', 30_000)
  const off = await client<SyncStatusReport>(dirA, 'sync', 'status')
  assert.equal(off.devices[0]!.neverConnected, false)
  assert.ok(off.devices[0]!.lastSeen !== null && off.devices[0]!.lastSeen <= Date.now())
  await eventually(() => events.some((r) => r.devices[0]?.connected === false), 'a sync:status event with B disconnected')
})
