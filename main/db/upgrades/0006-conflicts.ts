/**
 * Store format 5 → 6: document records keep their conflicts (crdt.ts `x`: per field with several
 * maximal writes, their CIDs) and `counts` keeps how many documents of a collection have any.
 * Format 5 records have neither, so a document whose DAG already has concurrent writes would show
 * none until the field is written again. This step computes them from each document's blocks, as
 * apply does incrementally: a document whose blocks form one line (every block one parent, one
 * head — nearly all) has none and is left as it is, after a walk of its blocks.
 */
import type { BlockCID } from '../../../shared/types.ts'
import { WHOLE_SCAN, type Store } from '../store.ts'
import { blockCID, decodeStoredBlock } from '../block.ts'
import { compareCIDStrings } from '../cid.ts'
import { conflictCountKey } from '../apply.ts'
import type { DocRecord } from '../crdt.ts'
import type { UpgradeStep } from './step.ts'

/** The maximal writes of each field of a document with more than one, from its blocks. */
export async function maximalWritesOf(store: Store, rec: DocRecord): Promise<Record<string, BlockCID[]> | undefined> {
  const blocks = new Map<BlockCID, { parents: BlockCID[]; fields: string[] }>()
  const stack = [...rec.heads]
  let linear = rec.heads.length === 1
  while (stack.length > 0) {
    const cid = stack.pop()!
    if (blocks.has(cid)) continue
    const bytes = await store.blocks.get(cid)
    if (bytes === undefined) continue
    const b = decodeStoredBlock(bytes)
    const parents = b.parents.map(blockCID)
    if (parents.length > 1) linear = false
    blocks.set(cid, { parents, fields: Object.keys(b.fields) })
    stack.push(...parents)
  }
  if (linear) return undefined
  // A write of f is maximal when it is no ancestor of another write of f: walk down from the
  // parents of every write of f; the writes met are superseded.
  const writes = new Map<string, BlockCID[]>()
  for (const [cid, b] of blocks) for (const f of b.fields) { const l = writes.get(f) ?? []; l.push(cid); writes.set(f, l) }
  const ancestorsOfAll = (from: BlockCID[]): Set<BlockCID> => {
    const seen = new Set<BlockCID>()
    const todo = from.flatMap((c) => blocks.get(c)?.parents ?? [])
    while (todo.length > 0) {
      const c = todo.pop()!
      if (seen.has(c)) continue
      seen.add(c)
      todo.push(...(blocks.get(c)?.parents ?? []))
    }
    return seen
  }
  const x: Record<string, BlockCID[]> = {}
  for (const [f, list] of writes) {
    if (list.length < 2) continue
    const superseded = ancestorsOfAll(list)
    const maximal = list.filter((w) => !superseded.has(w))
    if (maximal.length > 1) x[f] = maximal.sort(compareCIDStrings)
  }
  return Object.keys(x).length > 0 ? x : undefined
}

export const step: UpgradeStep = {
  from: 5,
  to: 6,
  describe: 'documents keep their conflicts: concurrent writes of a field are found in each document\'s blocks',
  async run(ctx) {
    const { store } = ctx
    const keys = await store.docs.keys(WHOLE_SCAN).all()
    let done = 0
    let conflicted = 0
    const perCollection = new Map<string, number>()
    let txn = ctx.txn()
    for (const key of keys) {
      const rec = await store.docs.get(key)
      const collection = key.slice(0, key.indexOf('!'))
      if (!perCollection.has(collection)) perCollection.set(collection, 0)
      if (rec !== undefined) {
        const x = await maximalWritesOf(store, rec)
        if (x !== undefined || rec.x !== undefined) {
          if (x !== undefined) rec.x = x
          else delete rec.x
          txn.put(store.docs, key, rec)
        }
        if (x !== undefined) {
          conflicted++
          perCollection.set(collection, perCollection.get(collection)! + 1)
        }
      }
      ctx.progress(++done, keys.length)
      if (done % 1000 === 0) { await txn.commit(); txn = ctx.txn() }
    }
    // Set, not added: running the step again gives the same counts.
    for (const [collection, n] of perCollection) txn.put(store.counts, conflictCountKey(collection), n)
    await txn.commit()
    ctx.log(`conflicts: ${conflicted} of ${keys.length} document${keys.length === 1 ? '' : 's'} have concurrent edits`)
  },
}
