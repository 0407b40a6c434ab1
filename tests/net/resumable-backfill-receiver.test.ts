/**
 * Resumable backfill, receiver side: the target of a large initial replication is killed with
 * SIGKILL midway (a real child process) and restarted on the same data directory. The initial sync
 * continues from what the target had committed (nothing it held is planned or pushed again),
 * everything arrives, and the progress (API event, replicators.getall, `p2p replicator getall`) is
 * shown throughout: kept while the target is away, and counted on from there after the restart.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { createApi } from '../../main/api/implementation.ts'
import { ApiClient } from '../../main/api/ws-client.ts'
import { startApiServer } from '../../main/api/ws-server.ts'
import { writeApiFile } from '../../main/cli/api-file.ts'
import type { ReplicatorInfo } from '../../shared/api/index.ts'
import { NodeProcess } from '../chaos/node-process.ts'
import { client } from '../cli/cli.ts'
import { eventually, startNode } from '../helpers/nodes.ts'
import { tempDir } from '../helpers/tmp.ts'

const N = 8000

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

test('initial replication survives a SIGKILL of the receiver midway and continues where it stopped', { timeout: 180_000 }, async (t) => {
  const aDir = await tempDir(t)
  const a = await startNode(t, { dataDir: aDir })
  const server = await startApiServer({ node: a, api: createApi(a), host: '127.0.0.1', port: 0, token: 'backfill-test-token' })
  t.after(() => server.close())
  await writeApiFile(aDir, { address: server.address, token: 'backfill-test-token' })
  const api = await ApiClient.connect(server.address, 'backfill-test-token')
  t.after(() => api.close())

  const b = new NodeProcess(1, join(await tempDir(t), 'b'), await freePort())
  t.after(() => b.kill())
  await b.start()
  await a.db.addCollections('type Items { title: String! n: Int }')
  await a.db.createDocuments('Items', Array.from({ length: N }, (_, i) => ({ title: `item ${i}`, n: i })))
  const itemsID = (await a.db.getCollection('Items')).id
  await b.call('setSecret', { secret: Buffer.from(a.group.secret.bytes).toString('base64') })
  await b.call('groupAdd', { deviceID: a.deviceID, addrs: a.addresses() })
  await a.group.add({ deviceID: b.deviceID, name: 'receiver', addrs: [b.addr] })
  await eventually(() => a.connectedDevices().includes(b.deviceID as never), 'A and B connected')

  // Every progress report the API sends, in order.
  const events: ReplicatorInfo[] = []
  await api.subscribe(['replicator'])
  api.onEvent<'replicator'>((_e, r) => { if (r.target === b.deviceID) events.push(r) })
  await api.call('replicators.set', { target: b.deviceID, collections: ['Items'] })

  // Killed once a quarter is there (pushed by the replicator, or pulled by the receiver's own head
  // exchange: both run, and the replicator lets the pull go first).
  const seenAtKill = await eventually(async () => {
    const n = await b.call('count', { collection: 'Items' })
    return n >= N / 4 ? n : undefined
  }, 'a quarter of the collection at the receiver', 60_000)
  const doneAtKill = events.at(-1)?.initialSync.done ?? 0
  await b.kill()

  // While the receiver is gone the replicator says so and keeps its progress (no reset to 0).
  const away = await eventually(async () => {
    const r = (await api.call('replicators.getall', {})).find((x) => x.target === b.deviceID)
    return r !== undefined && !r.connected ? r : undefined
  }, 'the replicator sees the receiver gone')
  assert.equal(away.initialSync.state, 'running')
  assert.equal(away.initialSync.total, N)
  assert.ok(away.initialSync.done >= doneAtKill, `progress kept while away: ${away.initialSync.done} ≥ ${doneAtKill}`)

  // Restarted on the same data dir, kept apart from A for a moment to count what survived the kill.
  await b.start([a.deviceID])
  const survived = await b.call('count', { collection: 'Items' })
  assert.ok(survived >= doneAtKill, `every acked block survived the SIGKILL (${survived} here, ${doneAtKill} acked)`)
  assert.ok(survived >= seenAtKill, `what was there before the SIGKILL is still there (${survived} ≥ ${seenAtKill})`)
  assert.ok(survived < N, `the receiver was killed midway (${survived} of ${N})`)
  const beforeHeal = events.length
  await b.call('setDenied', { peers: [], addrs: [a.addresses()[0]!] })

  // After the restart the shown progress moves on from where it was, and its first new value is at
  // least what the receiver held: nothing it had committed is planned again (were it re-planned,
  // progress would restart below that and climb a batch at a time).
  const shownBefore = events[beforeHeal - 1]!.initialSync.done
  const resumed = await eventually(() => events.slice(beforeHeal).find((e) => e.initialSync.done !== shownBefore), 'the initial sync resumed', 60_000)
  assert.ok(resumed.initialSync.done >= survived, `resumed at ${resumed.initialSync.done}, the receiver held ${survived}`)
  const fromCLI = await client<ReplicatorInfo[]>(aDir, 'p2p', 'replicator', 'getall')
  const cliState = fromCLI.find((r) => r.target === b.deviceID)!.initialSync
  assert.equal(cliState.total, N, 'the CLI shows progress against the whole collection')
  assert.ok(cliState.done >= resumed.initialSync.done, `the CLI shows the resumed progress (${cliState.done})`)

  await eventually(async () => (await b.call('count', { collection: 'Items' })) === N, 'every document at the receiver', 60_000)
  const digest = Buffer.from((await a.db.collectionDigests()).get(itemsID)!).toString('hex')
  await eventually(async () => (await b.call('status', {})).digests[itemsID] === digest, 'the same heads on both')
  await eventually(() => events.at(-1)?.initialSync.state === 'done' ? true : undefined, 'initial sync done', 30_000)

  const planned = N - resumed.initialSync.done
  // Progress only ever went forward, against one total, and ended complete.
  for (let i = 1; i < events.length; i++) {
    const [p, q] = [events[i - 1]!.initialSync, events[i]!.initialSync]
    if (p.total > 0 && q.total > 0) assert.ok(q.done >= p.done && q.total === p.total, `progress went ${p.done}/${p.total} → ${q.done}/${q.total}`)
  }
  assert.deepEqual(events.at(-1)!.initialSync, { state: 'done', done: N, total: N })
  console.log(`receiver backfill: ${seenAtKill} seen there and ${doneAtKill} acked before the SIGKILL, ${survived} there after restart, ${planned} left for the replicator to push when it resumed (of ${N})`)
})
