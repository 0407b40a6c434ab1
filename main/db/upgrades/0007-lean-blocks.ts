/**
 * Store format 6 → 7: blocks of a signed batch are stored lean (lean-block.ts): the batch's
 * signature and proof nodes once, in `trees`, instead of in every block. Each stored block is read,
 * its signature found, and it is written back lean where that is shorter — the same block, byte for
 * byte, when read whole (checked for each as it is made). Blocks written alone stay as they are.
 * Running the step again finds every block lean or better whole, and changes nothing.
 */
import { decodeStoredBlock } from '../block.ts'
import { isLean } from '../lean-block.ts'
import { storedForm } from '../stored-blocks.ts'
import type { UpgradeStep } from './step.ts'

const BATCH = 1000

export const step: UpgradeStep = {
  from: 6,
  to: 7,
  describe: 'blocks of a batch keep its signature and proof once, not each',
  async run(ctx) {
    const { store } = ctx
    // Counted first, for the progress (keys only; LevelDB's iterators read a snapshot, so the walk
    // below does not see what it writes).
    const total = await countBlocks(ctx)
    let done = 0
    let lean = 0
    let before = 0
    let after = 0
    const it = store.blocks.iterator()
    try {
      for (;;) {
        const entries = await it.nextv(BATCH)
        if (entries.length === 0) break
        const txn = ctx.txn()
        for (const [cid, bytes] of entries) {
          before += bytes.length
          if (isLean(bytes)) { after += bytes.length; continue }
          const block = decodeStoredBlock(bytes)
          const value = await storedForm(store, txn, { bytes, block })
          if (value !== bytes) { txn.put(store.blocks, cid, value); lean++ }
          after += value.length
        }
        // Each batch commits on its own: a block and its tree's nodes go in the same one.
        await txn.commit()
        done += entries.length
        ctx.progress(done, total)
      }
    } finally {
      await it.close()
    }
    ctx.log(`lean blocks: ${lean} of ${done} block${done === 1 ? '' : 's'} now name their batch's signature (${Math.round(before / 1024)} KiB → ${Math.round(after / 1024)} KiB of blocks, trees apart)`)
  },
}

async function countBlocks(ctx: Parameters<UpgradeStep['run']>[0]): Promise<number> {
  let n = 0
  const it = ctx.store.blocks.keys()
  try {
    for (;;) {
      const keys = await it.nextv(10_000)
      if (keys.length === 0) return n
      n += keys.length
    }
  } finally {
    await it.close()
  }
}
