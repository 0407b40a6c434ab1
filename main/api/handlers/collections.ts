import type { Handlers } from '../context.ts'

export const collections: Handlers<'collections.add' | 'collections.list' | 'collections.describe' | 'collections.update'> = {
  'collections.add': ({ node }, { sdl }) => node.db.addCollections(sdl),
  'collections.list': async ({ node }) => {
    const list = await node.db.listCollections()
    for (const c of list) { const n = await node.db.conflictCount(c.id); if (n > 0) c.conflictedDocs = n }
    return list
  },
  'collections.describe': ({ node }, { name }) => node.db.getCollection(name),
  'collections.update': ({ node }, { sdl }) => node.db.updateCollection(sdl),
}
