import type { Handlers } from '../context.ts'
import type { HeldBatchInfo } from '../../../shared/api/index.ts'
import type { HeldBatch } from '../../db/held.ts'
import type { TandemNode } from '../../node/tandem-node.ts'

/** A held batch as the API shows it: with the collection's and the device's names. */
export function heldInfo(node: TandemNode, b: HeldBatch): HeldBatchInfo {
  const collectionName = node.db.collectionName(b.collection) ?? b.collection
  const deviceName = node.group.get(b.author)?.name ?? `device ${b.author.slice(-6)}`
  return {
    id: b.id, collection: b.collection, collectionName, device: b.author, deviceName, docs: b.docs,
    liveAtStart: b.liveAtStart, firstAt: b.firstAt, lastAt: b.lastAt, sample: b.sample,
  }
}

export function heldList(node: TandemNode): HeldBatchInfo[] {
  return node.db.heldBatches().map((b) => heldInfo(node, b))
}

export const held: Handlers<'sync.held' | 'sync.release' | 'sync.reject'> = {
  'sync.held': ({ node }) => heldList(node),
  'sync.release': async ({ node }, { id }) => ({ batch: heldInfo(node, await node.db.releaseHeld(id)) }),
  'sync.reject': async ({ node }, { id }) => {
    const { restored, ...batch } = await node.db.rejectHeld(id)
    return { batch: heldInfo(node, batch), restored }
  },
}
