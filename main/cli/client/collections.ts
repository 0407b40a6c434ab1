import type { Command } from 'commander'
import { action } from './run.ts'

export function collectionCommands(client: Command): void {
  const c = client.command('collection').description('Define and inspect collections (GraphQL SDL types).')
  c.command('add').argument('<sdl>', "GraphQL SDL, e.g. 'type Books { title: String! pages: Int }'")
    .description('Define one or more collections; prints them.')
    .action(action((api, sdl: string) => api.call('collections.add', { sdl })))
  c.command('list').description('List collections with their document counts.')
    .action(action((api) => api.call('collections.list')))
  c.command('describe').argument('<name>', 'collection name or ID')
    .description("A collection's schema, SDL and count.")
    .action(action((api, name: string) => api.call('collections.describe', { name })))
}
