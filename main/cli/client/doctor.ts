import type { Command } from 'commander'
import { action } from './run.ts'

export function doctorCommands(client: Command): void {
  client.command('doctor')
    .description('Connectivity doctor (JSON): per group device how we know it, last dial attempts and their errors, path and round-trip time; our reachability; suggestions.')
    .option('--no-ping', 'do not ping connected devices (report libp2p\'s last round-trip time)')
    .action(action((api, opts: { ping: boolean }) => api.call('doctor.report', { ping: opts.ping })))
}
