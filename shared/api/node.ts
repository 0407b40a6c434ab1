/** This device, and going offline/online. */
import { z } from 'zod'
import { call, Empty } from './define.ts'
import type { NodeInfo } from './types.ts'

export const nodeCalls = {
  'node.info': call<NodeInfo>()('This device: peer ID, name, addresses, network state, pending outgoing changes.', Empty),
  'node.setDeviceName': call<NodeInfo>()('Rename this device (other devices learn the new name).',
    z.object({ name: z.string().trim().min(1).max(64) }).strict()),
  /** Drops every connection and makes or accepts none until resume; edits go on locally. */
  'network.pause': call<NodeInfo>()('Go offline.', Empty),
  /** Redials the group's devices; they catch up with each other by head exchange. */
  'network.resume': call<NodeInfo>()('Go back online.', Empty),
}
