/** Collections: GraphQL SDL types. */
import { z } from 'zod'
import type { CollectionInfo } from '../types.ts'
import { call, CollectionInput, Empty } from './define.ts'

export const collectionCalls = {
  /** One SDL string may define several types; returns every collection it defined. */
  'collections.add': call<CollectionInfo[]>()('Define collections from GraphQL SDL.',
    z.object({ sdl: z.string().min(1).max(256 * 1024) }).strict()),
  /** Every collection with its count of live documents. */
  'collections.list': call<CollectionInfo[]>()('List collections with their document counts.', Empty),
  'collections.describe': call<CollectionInfo>()('One collection (by name or ID): schema, SDL, count.',
    z.object({ name: CollectionInput }).strict()),
}
