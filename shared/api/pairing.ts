/** Pairing: by invite (URI or QR), or with a device nearby (mDNS) by comparing a short code. */
import { z } from 'zod'
import { call, Empty, PeerIDInput } from './define.ts'
import type { ActiveInvite, DeviceInfo, InviteResult, NearbyDevice, PairingRequest } from './types.ts'

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
  /** Both devices then show `code`; the other device accepts if it matches. */
  'pairing.request': call<{ requestId: string; code: string }>()('Ask a nearby device to pair.',
    z.object({ peerID: PeerIDInput }).strict()),
  'pairing.requests': call<PairingRequest[]>()('Pairing requests pending (incoming and outgoing), with their codes.', Empty),
  'pairing.accept': call<null>()('Accept an incoming pairing request.', z.object({ id: z.string().min(1).max(128) }).strict()),
  'pairing.decline': call<null>()('Decline an incoming pairing request.', z.object({ id: z.string().min(1).max(128) }).strict()),
}
