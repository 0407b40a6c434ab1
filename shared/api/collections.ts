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
  'collections.describe': call<CollectionInfo>()('One collection (by name or ID): schema, SDL, count, current version and every version.',
    z.object({ name: CollectionInput }).strict()),
  /**
   * A new version of a collection: the SDL's type name selects it, its fields are the new shape.
   * Refused with SCHEMA_INCOMPATIBLE (a type change, a required field without a default, optional →
   * required), UNKNOWN_COLLECTION or SCHEMA_INVALID, changing nothing.
   */
  'collections.update': call<CollectionInfo>()('Change a collection\'s fields (a new schema version) from GraphQL SDL.',
    z.object({ sdl: z.string().min(1).max(256 * 1024) }).strict()),
}
