/** Peers (every peer known: connected, discovered) and devices (this person's paired devices). */
import { z } from 'zod'
import { call, Empty, PeerIDInput } from './define.ts'
import type { DeviceInfo, PeerInfo } from './types.ts'

export const peerCalls = {
  'peers.list': call<PeerInfo[]>()('Connected and discovered peers, with the path of each connection.', Empty),
  'devices.list': call<DeviceInfo[]>()('The devices of this group (not this one): online, last seen, addresses.', Empty),
  /** The device is told (if reachable); the group secret is renewed so it cannot read what follows. */
  'devices.remove': call<null>()('Remove a device from the group.', z.object({ peerID: PeerIDInput }).strict()),
}
