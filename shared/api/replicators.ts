/** Replicators: standing orders to push collections (or single documents) to a device. */
import { z } from 'zod'
import { call, CollectionInput, DocIDInput, Empty, MultiaddrInput } from './define.ts'
import type { ReplicatorInfo } from './types.ts'

export const replicatorCalls = {
  /**
   * `target` is a device's peer ID, or a multiaddr ending in /p2p/<peer ID> (its address is then
   * remembered and dialed). The device must be paired. Adds to an existing replicator's scope.
   */
  'replicators.set': call<ReplicatorInfo>()('Replicate collections or documents to a device.',
    z.object({
      target: MultiaddrInput,
      collections: z.array(CollectionInput).max(1024).optional(),
      documents: z.array(z.object({ collection: CollectionInput, docID: DocIDInput }).strict()).max(10_000).optional(),
    }).strict()),
  /** The whole replicator, or only the collections given. `target` as in set. */
  'replicators.delete': call<null>()('Stop replicating to a device (or only some collections).',
    z.object({ target: MultiaddrInput, collections: z.array(CollectionInput).max(1024).optional() }).strict()),
  'replicators.getall': call<ReplicatorInfo[]>()('Every replicator: state, pending, last ack, last error, initial sync.', Empty),
}
