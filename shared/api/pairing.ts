/** Pairing: by invite (URI or QR), or with a device nearby (mDNS) by typing the code it shows. */
import { z } from 'zod'
import { call, Empty, PeerIDInput } from './define.ts'
import type { ActiveInvite, DeviceInfo, InviteResult, NearbyDevice, PairingMode, PairingRequest } from './types.ts'

const RequestIDInput = z.string().min(1).max(128)

export const pairingCalls = {
  'pairing.invite': call<InviteResult>()('A one-time invite for another device to join this group.',
    z.object({ ttlMinutes: z.number().positive().max(24 * 60).optional(), qr: z.boolean().optional() }).strict().optional()),
  'pairing.invites': call<ActiveInvite[]>()('Invites still usable.', Empty),
  /** By the invite's id, or by its URI. */
  'pairing.cancelInvite': call<null>()('Cancel an invite before it is used.',
    z.union([z.object({ id: z.string().min(1).max(64) }).strict(), z.object({ uri: z.string().min(1).max(8192) }).strict()])),
  /**
   * Returns the inviter as a device of the group this device has joined. When this device has
   * devices already, the join merges the two groups and is refused (MERGE_NOT_CONFIRMED, with
   * `details.devices` and `details.inviter`) unless `mergeGroups` is true.
   */
  'pairing.join': call<DeviceInfo>()('Join the group of the device that made the invite.',
    z.object({ uri: z.string().min(1).max(8192), mergeGroups: z.boolean().optional() }).strict()),
  'pairing.nearby': call<NearbyDevice[]>()('Devices found on the local network (mDNS).', Empty),
  /** This device then shows `code`; the person types it on the other device, which must have "Pair nearby" open. */
  'pairing.request': call<{ requestId: string; code: string }>()('Ask a nearby device to pair.',
    z.object({ peerID: PeerIDInput }).strict()),
  'pairing.mode': call<PairingMode>()('Whether this device takes nearby pairing requests now, and until when.', Empty),
  'pairing.open': call<PairingMode>()('Take nearby pairing requests for the next 3 minutes ("Pair nearby").', Empty),
  'pairing.close': call<PairingMode>()('Stop taking nearby pairing requests; pending ones are declined.', Empty),
  'pairing.requests': call<PairingRequest[]>()('Pairing requests pending: incoming (type the code their device shows) and outgoing (with the code to show).', Empty),
  /** Pairs when `code` is the one the requesting device shows; otherwise PAIRING_WRONG_CODE (`details.triesLeft`). */
  'pairing.accept': call<null>()('Accept an incoming pairing request by typing the code the other device shows.',
    z.object({ id: RequestIDInput, code: z.string().regex(/^\d{6}$/, 'the 6 digits the other device shows') }).strict()),
  'pairing.decline': call<null>()('Decline an incoming pairing request, or withdraw an outgoing one.', z.object({ id: RequestIDInput }).strict()),
}
