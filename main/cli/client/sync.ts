import type { Command } from 'commander'
import { action } from './run.ts'

export function syncCommands(client: Command): void {
  const sync = client.command('sync').description('Sync you can verify: status per device and collection.')
  sync.command('status')
    .description('Verified sync status (JSON): per group device and collection, in sync (equal head digests, with the time of the check) or documents differing, outbox pending, last seen.')
    .action(action((api) => api.call('sync.status', {})))
}
