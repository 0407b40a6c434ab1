import type { Handlers } from '../context.ts'
import { TandemError } from '../../../shared/errors.ts'
import { parseInvite } from '../../net/pairing/invite.ts'
import { qrSvg } from '../qr.ts'

export const pairing: Handlers<'pairing.invite' | 'pairing.invites' | 'pairing.cancelInvite' | 'pairing.join'> = {
  'pairing.invite': async ({ node }, input) => {
    const inv = node.invite(input?.ttlMinutes !== undefined ? { ttlMinutes: input.ttlMinutes } : {})
    return { id: inv.id, uri: inv.uri, expiresAt: inv.expiresAt, ...(input?.qr === true ? { qrSvg: await qrSvg(inv.uri) } : {}) }
  },
  'pairing.invites': ({ node }) => node.pairing?.listInvites() ?? [],
  'pairing.cancelInvite': ({ node }, input) => {
    if (node.pairing === null) throw new TandemError('NETWORK_OFF', 'The network is off: there are no invites.')
    node.pairing.cancelInvite('id' in input ? input.id : parseInvite(input.uri).id)
    return null
  },
  'pairing.join': async ({ node }, { uri, mergeGroups }) => {
    const d = await node.join(uri, { mergeGroups: mergeGroups === true })
    return { peerID: d.deviceID, name: d.name, online: node.connectedDevices().includes(d.deviceID), lastSeen: d.lastSeen, addresses: d.addrs, addedAt: d.addedAt }
  },
}
