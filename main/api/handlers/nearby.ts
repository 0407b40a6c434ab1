/**
 * Nearby pairing (mDNS + a short code to compare).
 */
import type { Handlers } from '../context.ts'
import { checkDeviceID } from '../../net/group.ts'

export const nearby: Handlers<'pairing.nearby' | 'pairing.request' | 'pairing.requests' | 'pairing.accept' | 'pairing.decline'> = {
  'pairing.nearby': ({ node }) => node.nearby(),
  'pairing.request': async ({ node }, { peerID }) => {
    const r = await node.requestPairing(checkDeviceID(peerID))
    return { requestId: r.id, code: r.code }
  },
  'pairing.requests': ({ node }) => node.pairingRequests(),
  'pairing.accept': async ({ node }, { id }) => {
    await node.acceptPairing(id)
    return null
  },
  'pairing.decline': async ({ node }, { id }) => {
    await node.declinePairing(id)
    return null
  },
}
