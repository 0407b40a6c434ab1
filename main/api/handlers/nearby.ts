/**
 * Nearby pairing (mDNS; "Pair nearby" open on the device asked; the code typed on it).
 */
import type { Handlers } from '../context.ts'
import { checkDeviceID } from '../../net/group.ts'

export const nearby: Handlers<'pairing.nearby' | 'pairing.request' | 'pairing.mode' | 'pairing.open' | 'pairing.close' | 'pairing.requests' | 'pairing.accept' | 'pairing.decline'> = {
  'pairing.nearby': ({ node }) => node.nearby(),
  'pairing.request': async ({ node }, { peerID }) => {
    const r = await node.requestPairing(checkDeviceID(peerID))
    return { requestId: r.id, code: r.code }
  },
  'pairing.mode': ({ node }) => node.pairingMode(),
  'pairing.open': ({ node }) => node.openPairing(),
  'pairing.close': ({ node }) => node.closePairing(),
  'pairing.requests': ({ node }) => node.pairingRequests(),
  'pairing.accept': async ({ node }, { id, code }) => {
    await node.acceptPairing(id, code)
    return null
  },
  'pairing.decline': async ({ node }, { id }) => {
    await node.declinePairing(id)
    return null
  },
}
