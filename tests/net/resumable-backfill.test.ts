/**
 * Resumable backfill: a replicator's initial sync of a large collection, interrupted by a restart
 * of the sender midway, continues where it stopped: after the restart it sends only what the
 * target still lacks (found by head exchange against what the target committed), not all again.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TandemNode } from '../../main/node/tandem-node.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { tempDir } from '../helpers/tmp.ts'

const N = 20_000

test('initial replication survives a restart of the sender midway and does not start over', async (t) => {
  const aDir = await tempDir(t)
  let a = await TandemNode.start({ dataDir: aDir, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
  const b = await startNode(t)
  await a.db.addCollections('type Items { title: String! n: Int }')
  await a.db.createDocuments('Items', Array.from({ length: N }, (_, i) => ({ title: `item ${i}`, n: i })))
  await formGroup([a, b])
  await eventually(() => a.connectedDevices().includes(b.deviceID), 'connected')
  await a.replicators!.set({ target: b.deviceID, collections: ['Items'] })
  const itemsID = (await a.db.getCollection('Items')).id
  const count = async (): Promise<number> => (b.db.hasCollection(itemsID) ? (await b.db.listDocuments('Items', { limit: 0 })).total : 0)
  const midway = await eventually(async () => { const n = await count(); return n >= N * 0.15 ? n : undefined }, 'some of the backfill arrived', 60_000)
  const firstTotal = a.replicators!.state(b.deviceID)!.initialSync.total
  await a.stop()
  const atStop = await count()
  assert.ok(atStop < N, `the sender stopped midway (${atStop} of ${N} at the target)`)
  assert.equal(firstTotal, N, 'the first run planned every block')

  a = await TandemNode.start({ dataDir: aDir, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
  t.after(() => a.stop())
  // Each plan after the restart: what is left of the whole (progress is counted against the first plan).
  const plans: number[] = []
  const totals: number[] = []
  let last = -1
  a.on('replicator', (s) => {
    const { state, done, total } = s.initialSync
    if (state !== 'running' || total === 0) return
    totals.push(total)
    if (done < last || last === -1) plans.push(total - done)
    last = done
  })
  await a.dial(`${b.addresses()[0]}`)
  await eventually(async () => (await count()) === N, 'every document at the target', 120_000)
  await eventually(() => a.replicators!.state(b.deviceID)!.initialSync.state === 'done', 'initial sync done')
  // Blocks planned after the restart: what the target lacked then, not the whole collection.
  const after = plans.length === 0 ? 0 : Math.max(...plans)
  assert.ok(after <= N - atStop, `after the restart ${after} blocks were planned; the target had ${atStop} of ${N}`)
  // …and the progress shown after the restart starts from what the target had, against the whole.
  assert.ok(totals.every((x) => x === N), `progress is shown against all ${N} blocks`)
  console.log(`# backfill: ${midway} at midway check, ${atStop} at stop, ${after} planned after restart (of ${N})`)
})
