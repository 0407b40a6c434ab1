import type { Command } from 'commander'
import { action } from './run.ts'

export function deviceCommands(client: Command): void {
  const d = client.command('device').description("This person's paired devices.")
  d.command('list').description('Group devices: peer ID, name, online, last seen, addresses.')
    .action(action((api) => api.call('devices.list')))
  d.command('remove').argument('<peerID>').description('Remove a device from the group (it can no longer sync).')
    .action(action((api, peerID: string) => api.call('devices.remove', { peerID })))
  client.command('peers').description('Connected and discovered peers: addresses, connection (lan, direct, relayed or null), paired, discoveredBy.')
    .action(action((api) => api.call('peers.list')))
}
