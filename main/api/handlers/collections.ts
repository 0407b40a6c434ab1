import type { Handlers } from '../context.ts'

export const collections: Handlers<'collections.add' | 'collections.list' | 'collections.describe' | 'collections.update'> = {
  'collections.add': ({ node }, { sdl }) => node.db.addCollections(sdl),
  'collections.list': ({ node }) => node.db.listCollections(),
  'collections.describe': ({ node }, { name }) => node.db.getCollection(name),
  'collections.update': ({ node }, { sdl }) => node.db.updateCollection(sdl),
}
