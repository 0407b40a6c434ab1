import type { ApiContext, Handlers } from '../context.ts'
import type { NodeInfo } from '../../../shared/api/index.ts'

export function nodeInfo({ node, version }: ApiContext): NodeInfo {
  const upgrade = node.db.lastUpgrade
  const network = node.host === null ? 'off' : node.paused ? 'paused' : 'online'
  return {
    peerID: node.deviceID,
    deviceName: node.group.name,
    addresses: node.addresses(),
    network,
    online: network === 'online',
    paused: node.paused,
    pendingOutgoing: (node.replicators?.list() ?? []).reduce((n, r) => n + r.pending, 0),
    connectedDevices: node.connectedDevices().length,
    syncing: node.syncing,
    dataDir: node.db.dir,
    version,
    lastUpgrade: upgrade === null ? null : { from: upgrade.from, to: upgrade.to, at: upgrade.at, ms: upgrade.ms },
  }
}

export const nodeHandlers: Handlers<'node.status' | 'node.info' | 'node.setDeviceName' | 'network.pause' | 'network.resume'> = {
  // A node that answers calls has started: the starting phase is answered by main/api/starting.ts.
  'node.status': () => ({ state: 'ready' }),
  'node.info': (ctx) => nodeInfo(ctx),
  'node.setDeviceName': async (ctx, { name }) => {
    await ctx.node.group.setName(name)
    const info = nodeInfo(ctx)
    ctx.emit('node', info)
    return info
  },
  'network.pause': async (ctx) => {
    await ctx.node.pause()
    const info = nodeInfo(ctx)
    ctx.emit('node', info)
    return info
  },
  'network.resume': (ctx) => {
    ctx.node.resume()
    const info = nodeInfo(ctx)
    ctx.emit('node', info)
    return info
  },
}
