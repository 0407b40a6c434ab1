import type { Handlers } from '../context.ts'
import type { DeviceInfo } from '../../../shared/api/index.ts'
import { checkDeviceID } from '../../net/group.ts'

export const peers: Handlers<'peers.list' | 'devices.list' | 'devices.remove'> = {
  'peers.list': ({ node }) => node.peers(),
  'devices.list': ({ node }) => {
    const online = new Set<string>(node.connectedDevices())
    return node.group.list().map((d): DeviceInfo => ({
      peerID: d.deviceID, name: d.name, online: online.has(d.deviceID), lastSeen: d.lastSeen, addresses: d.addrs, addedAt: d.addedAt,
    }))
  },
  'devices.remove': async ({ node }, { peerID }) => {
    await node.removeDevice(checkDeviceID(peerID))
    return null
  },
}
