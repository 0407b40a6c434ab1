import type { Command } from 'commander'
import { action, parseIntArg, printJSON } from './run.ts'

export function pairingCommands(client: Command): void {
  const p = client.command('pair').description('Pair devices: by invite, or with a device nearby.')
  p.command('invite').option('--ttl <minutes>', 'how long the invite lasts (default 10)')
    .description('A one-time invite; prints {"uri", "expiresAt"} and, on a terminal, a QR code.')
    .action(action(async (api, o: { ttl?: string }) => {
      const inv = await api.call('pairing.invite', o.ttl !== undefined ? { ttlMinutes: parseIntArg(o.ttl, '--ttl') } : {})
      printJSON({ uri: inv.uri, expiresAt: inv.expiresAt, id: inv.id })
      if (process.stdout.isTTY) process.stdout.write(`${await (await import('../../api/qr.ts')).qrTerminal(inv.uri)}\nScan or paste this on the other device (\`tandem client pair join URI\`).\n`)
      return undefined
    }))
  p.command('cancel').argument('<idOrURI>', "the invite's id or URI").description('Cancel an invite.')
    .action(action((api, v: string) => api.call('pairing.cancelInvite', v.includes(':') ? { uri: v } : { id: v })))
  p.command('join').argument('<uri>', 'the invite (tandem://pair?…)')
    .option('--merge-groups', 'this device has devices already: merge its group with the inviter\'s (refused without it)')
    .description("Join the group of the invite's device.")
    .action(action((api, uri: string, o: { mergeGroups?: boolean }) => api.call('pairing.join', { uri, ...(o.mergeGroups === true ? { mergeGroups: true } : {}) })))
  p.command('nearby').argument('[peerID]', 'the nearby device to pair with (omit to list them)')
    .description('List devices found nearby (mDNS), or ask one to pair: prints {"requestId", "code"}; type that code on the other device (it must have Pair nearby open: pair open).')
    .action(action((api, peerID: string | undefined) => peerID === undefined ? api.call('pairing.nearby') : api.call('pairing.request', { peerID })))
  p.command('open').description('Pair nearby: take pairing requests from nearby devices for 3 minutes; prints {"open", "until"}.')
    .action(action((api) => api.call('pairing.open')))
  p.command('close').description('Stop taking nearby pairing requests (pending ones are declined).')
    .action(action((api) => api.call('pairing.close')))
  p.command('requests').description('Pairing requests pending: incoming ones (claimedName is unverified) and outgoing ones with the code to show.')
    .action(action((api) => api.call('pairing.requests')))
  p.command('accept').argument('<id>').requiredOption('--code <digits>', 'the 6-digit code the other device shows')
    .description('Accept an incoming pairing request by typing the code its device shows; a wrong code pairs nothing (3 tries).')
    .action(action((api, id: string, o: { code: string }) => api.call('pairing.accept', { id, code: o.code.replace(/[\s-]/g, '') })))
  p.command('decline').argument('<id>').description('Decline an incoming pairing request, or withdraw an outgoing one.')
    .action(action((api, id: string) => api.call('pairing.decline', { id })))
}
