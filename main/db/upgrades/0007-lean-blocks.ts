/**
 * Store format 6 → 7: blocks of a signed batch are stored lean (lean-block.ts): the batch's
 * signature and proof nodes once, in `trees`, instead of in every block. Blocks lie in CID order,
 * which mixes every batch, so the step first notes which blocks belong to which batch (keys and
 * signatures only, ~100 bytes a block in memory), then rewrites one batch after another, each in
 * full — the same block, byte for byte, when read whole. Blocks written alone, and batches of fewer
 * than LEAN_MIN_BLOCKS here, stay as they are. Running the step again finds every batch's tree
 * stored and changes nothing.
 */
import { decodeStoredBlock } from '../block.ts'
import { isLean, MIN_LEAN_STEPS, treeKey } from '../lean-block.ts'
import { LEAN_MIN_BLOCKS, prefetchTrees, storedForm } from '../stored-blocks.ts'
import { WHOLE_SCAN } from '../store.ts'
import type { UpgradeStep } from './step.ts'

const READ_BATCH = 1000
/** Blocks rewritten per commit (whole batches). */
const WRITE_BATCH = 1024

export const step: UpgradeStep = {
  from: 6,
  to: 7,
  describe: 'blocks of a batch keep its signature and proof once, not each',
  async run(ctx) {
    const { store } = ctx
    // Pass 1: the blocks of each batch (by its tree key), from a walk of every block.
    const batches = new Map<string, string[]>()
    let blocks = 0
    const it = store.blocks.iterator(WHOLE_SCAN)
    try {
      for (;;) {
        const entries = await it.nextv(READ_BATCH)
        if (entries.length === 0) break
        for (const [cid, bytes] of entries) {
          blocks++
          if (isLean(bytes)) continue
          const sig = decodeStoredBlock(bytes).sig
          if (sig === undefined || sig.p.length < MIN_LEAN_STEPS * 32) continue
          const key = treeKey(sig.s)
          const list = batches.get(key)
          if (list === undefined) batches.set(key, [cid])
          else list.push(cid)
        }
      }
    } finally {
      await it.close()
    }
    const todo = [...batches.values()].filter((list) => list.length >= LEAN_MIN_BLOCKS)
    const total = todo.reduce((n, list) => n + list.length, 0)
    // Pass 2: each batch whole in one transaction, so its tree is written once with all its nodes.
    let done = 0
    let lean = 0
    let before = 0
    let after = 0
    for (let i = 0; i < todo.length;) {
      const cids: string[] = []
      while (i < todo.length && (cids.length === 0 || cids.length + todo[i]!.length <= WRITE_BATCH)) cids.push(...todo[i++]!)
      const values = await store.blocks.getMany(cids)
      const found = cids.flatMap((cid, k) => { const bytes = values[k]; return bytes === undefined ? [] : [{ cid, bytes, block: decodeStoredBlock(bytes) }] })
      const txn = ctx.txn()
      await prefetchTrees(store, txn, found)
      for (const b of found) {
        const value = await storedForm(store, txn, b)
        before += b.bytes.length
        after += value.length
        if (value !== b.bytes) { txn.put(store.blocks, b.cid, value); lean++ }
      }
      await txn.commit()
      done += cids.length
      ctx.progress(done, total)
    }
    ctx.log(`lean blocks: ${lean} of ${blocks} block${blocks === 1 ? '' : 's'} now name their batch's signature (${todo.length} batch${todo.length === 1 ? '' : 'es'}; ${Math.round(before / 1024)} KiB → ${Math.round(after / 1024)} KiB of those blocks, trees apart)`)
  },
}
