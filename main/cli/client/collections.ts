import type { Command } from 'commander'
import { action } from './run.ts'

export function collectionCommands(client: Command): void {
  const c = client.command('collection').description('Define and inspect collections (GraphQL SDL types).')
  c.command('add').argument('<sdl>', "GraphQL SDL, e.g. 'type Books { title: String! pages: Int }'")
    .description('Define one or more collections; prints them.')
    .action(action((api, sdl: string) => api.call('collections.add', { sdl })))
  c.command('update').argument('<sdl>', "the collection's new shape in GraphQL SDL; its type name selects it, e.g. 'type Books { title: String! pages: Int rating: Int }'")
    .description('Change the fields of a collection (a new schema version): add fields (optional, or required with @default(value: …)), remove fields, make a field optional. Prints the collection.')
    .action(action((api, sdl: string) => api.call('collections.update', { sdl })))
  c.command('list').description('List collections with their document counts.')
    .action(action((api) => api.call('collections.list')))
  c.command('describe').argument('<name>', 'collection name or ID')
    .description("A collection's schema, SDL, count, current version and every version (when, which device, what changed).")
    .action(action((api, name: string) => api.call('collections.describe', { name })))
}
