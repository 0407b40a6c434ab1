/**
 * The 5 → 6 upgrade step (main/db/upgrades/0006-conflicts.ts) on a store of format 5: records
 * without conflicts (`x`) and no conflict counts, with documents that do have concurrent writes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { Database, storeOf } from '../../main/db/database.ts'
import { Store } from '../../main/db/store.ts'
import { conflictCountKey } from '../../main/db/apply.ts'
import { step } from '../../main/db/upgrades/0006-conflicts.ts'
import { allBlocks, visibleState } from '../helpers/replicas.ts'
import { tempDir } from '../helpers/tmp.ts'

test('0006-conflicts finds the concurrent writes of format-5 records and changes nothing else', async (t) => {
  const dir = await tempDir(t)
  const db = await Database.open(dir)
  const other = await Database.open(await tempDir(t))
  const sdl = 'type Notes { title: String! body: String n: Int }'
  await db.addCollections(sdl)
  await other.addCollections(sdl)
  const ids = await db.createDocuments('Notes', Array.from({ length: 20 }, (_, i) => ({ title: `t${i}` })))
  await other.applyBlocks(await allBlocks(db))
  await db.updateDocument('Notes', ids[0]!, { body: 'here' })
  await other.updateDocument('Notes', ids[0]!, { body: 'there', n: 2 })
  await db.updateDocument('Notes', ids[1]!, { n: 1 }) // one side only
  await db.applyBlocks(await allBlocks(other))
  await db.updateDocument('Notes', ids[2]!, { body: 'linear' })
  await other.close()
  const expected = await visibleState(db, 'Notes')
  assert.equal(Object.keys(expected.live.find((d) => d.docID === ids[0])!.conflicts ?? {}).join(), 'body')
  const collection = (await db.getCollection('Notes')).id
  // Back to format 5: no conflicts in the records, no count.
  const store5 = storeOf(db)
  for await (const [key, rec] of store5.docs.iterator()) if (rec.x !== undefined) { delete rec.x; await store5.docs.put(key, rec) }
  await store5.counts.del(conflictCountKey(collection))
  assert.equal((await db.getDocument('Notes', ids[0]!)).conflicts, undefined)
  await db.close()

  const store = await Store.open(join(dir, 'db'))
  const logs: string[] = []
  await step.run({ store, txn: () => store.txn(), batch: () => store.db.batch(), progress: () => {}, log: (m) => logs.push(m) })
  await step.run({ store, txn: () => store.txn(), batch: () => store.db.batch(), progress: () => {}, log: (m) => logs.push(m) }) // idempotent
  assert.match(logs[0]!, /1 of 20 documents/)
  await store.close()

  const again = await Database.open(dir)
  t.after(() => again.close())
  assert.deepEqual(await visibleState(again, 'Notes'), expected)
  assert.equal(await again.conflictCount('Notes'), 1)
})
