/** This device, and going offline/online. */
import { z } from 'zod'
import { call, Empty } from './define.ts'
import type { NodeInfo } from './types.ts'

/** Where a data directory's upgrade is (main/db/upgrade.ts UpgradeProgress). */
export interface UpgradeStatus {
  /** The whole upgrade: the directory's store format and the one it is brought to. */
  from: number
  to: number
  /** The step running (1-based `index` of `of`), and what it does. */
  step: { index: number; of: number; from: number; to: number; describe: string }
  /** How far the step is (`total` 0: not known yet). */
  done: number
  total: number
}

/**
 * Whether the node is up. While it starts (opening, maybe upgrading, its data directory) every other
 * call answers NODE_STARTING; the `node:status` event carries the same as it changes.
 */
export interface NodeStatus {
  state: 'starting' | 'upgrading' | 'ready'
  /** While `upgrading`: the latest progress. */
  upgrade?: UpgradeStatus
}

export const nodeCalls = {
  /** Answers while the node starts too, when every other call answers NODE_STARTING. */
  'node.status': call<NodeStatus>()('Whether this node is starting, upgrading its data directory (how far), or ready.', Empty),
  'node.info': call<NodeInfo>()('This device: peer ID, name, addresses, network state, pending outgoing changes.', Empty),
  'node.setDeviceName': call<NodeInfo>()('Rename this device (other devices learn the new name).',
    z.object({ name: z.string().trim().min(1).max(64) }).strict()),
  /** Drops every connection and makes or accepts none until resume; edits go on locally. */
  'network.pause': call<NodeInfo>()('Go offline.', Empty),
  /** Redials the group's devices; they catch up with each other by head exchange. */
  'network.resume': call<NodeInfo>()('Go back online.', Empty),
}
