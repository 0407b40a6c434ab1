import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Database } from '../../main/db/database.ts'
import { PendingIndex } from '../../main/db/apply.ts'
import { verifyBlock } from '../../main/db/block.ts'
import { Store } from '../../main/db/store.ts'
import { tempDir } from '../helpers/tmp.ts'

// The pending index answers "is this block pending?" from memory (database.ts asks it for every
// block received). Here its answers are held against the `pending` sublevel it mirrors, through
// each change a transaction can make, and against a reload from the store.
test('the pending index follows what commits make pending and drop, and reloads the same', async (t) => {
  const source = await Database.open(await tempDir(t))
  t.after(() => source.close())
  await source.addCollections('type Books { title: String! pages: Int }')
  const id = await source.createDocument('Books', { title: 'Dune' })
  await source.updateDocument('Books', id, { pages: 1 })
  await source.updateDocument('Books', id, { pages: 2 })
  const [, second, third] = await Promise.all((await source.history('Books', id)).map(async (h) => verifyBlock((await source.getBlock(h.cid))!, h.cid)))

  const store = await Store.open(`${await tempDir(t)}/db`)
  t.after(() => store.close())
  const index = await PendingIndex.load(store)
  const agrees = async (label: string, expected: Record<string, boolean>): Promise<void> => {
    const reloaded = await PendingIndex.load(store)
    for (const [name, enc] of Object.entries({ second: second!, third: third! })) {
      const stored = (await store.pending.get(enc.id)) !== undefined
      assert.equal(stored, expected[name], `${label}: ${name} in the store`)
      assert.equal(index.has(enc.id), stored, `${label}: ${name} in the index`)
      assert.equal(reloaded.has(enc.id), stored, `${label}: ${name} reloaded`)
    }
  }
  const commit = async (change: (c: ReturnType<PendingIndex['changes']>, txn: ReturnType<Store['txn']>) => void): Promise<void> => {
    const changes = index.changes()
    const txn = store.txn()
    change(changes, txn)
    await txn.commit()
    index.apply(changes)
  }
  await agrees('empty', { second: false, third: false })
  await commit((c, txn) => { c.put(store, txn, third!, [second!.id]); c.put(store, txn, second!, ['missing-parent']) })
  await agrees('both put', { second: true, third: true })
  // Dropped and applied (as the drain does), or dropped because it was rejected: not pending either way.
  await commit((c, txn) => c.drop(store, txn, second!))
  await agrees('one dropped', { second: false, third: true })
  // Made pending and dropped in one transaction: never pending.
  await commit((c, txn) => { c.put(store, txn, second!, ['missing-parent']); c.drop(store, txn, second!) })
  await agrees('put then dropped', { second: false, third: true })
  // Dropped and made pending again in one transaction: still pending.
  await commit((c, txn) => { c.drop(store, txn, third!); c.put(store, txn, third!, [second!.id]) })
  await agrees('dropped then put', { second: false, third: true })
  // Not committed: the index does not change.
  const changes = index.changes()
  changes.drop(store, store.txn(), third!)
  await agrees('uncommitted', { second: false, third: true })
  await commit((c, txn) => c.drop(store, txn, third!))
  await agrees('all dropped', { second: false, third: false })
})
