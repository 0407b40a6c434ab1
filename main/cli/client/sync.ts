import type { Command } from 'commander'
import { action } from './run.ts'

export function syncCommands(client: Command): void {
  const sync = client.command('sync').description('Sync you can verify: status per device and collection; deletions held by the mass-delete guard.')
  sync.command('status')
    .description('Verified sync status (JSON): per group device and collection, in sync (equal head digests, with the time of the check) or documents differing, outbox pending, last seen.')
    .action(action((api) => api.call('sync.status', {})))
  sync.command('held')
    .description('Deletions held by the mass-delete guard (JSON): per batch its ID, collection, device, how many documents of how many, when.')
    .action(action((api) => api.call('sync.held', {})))
  sync.command('release').argument('<id>', 'a batch ID from sync held')
    .description('Keep a held batch of deletions: the documents become deleted here (doc trash lists them).')
    .action(action((api, id: string) => api.call('sync.release', { id })))
  sync.command('reject').argument('<id>', 'a batch ID from sync held')
    .description('Reject a held batch: every document is restored by a new change that reaches every device, the one that deleted them too.')
    .action(action((api, id: string) => api.call('sync.reject', { id })))
}
