import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { ApiContext, Handlers } from '../context.ts'
import type { ReplicatorInfo } from '../../../shared/api/index.ts'
import { TandemError } from '../../../shared/errors.ts'
import type { DeviceID } from '../../../shared/types.ts'
import { checkDeviceID } from '../../net/group.ts'
import { checkMultiaddr } from '../../net/host.ts'
import { reason } from '../../net/logger.ts'
import type { Replicators } from '../../net/replicate/replicators.ts'

/** A peer ID, or a multiaddr ending in /p2p/<peer ID> (then its address is remembered for dialing). */
async function resolveTarget(ctx: ApiContext, target: string): Promise<DeviceID> {
  if (!target.startsWith('/')) return checkDeviceID(target)
  const ma = multiaddr(checkMultiaddr(target))
  const peer = ma.getComponents().findLast((c) => c.name === 'p2p')?.value
  if (peer === undefined) throw new TandemError('INVALID_INPUT', `The address ${target} must end with /p2p/<the device's peer ID>.`)
  const id = checkDeviceID(peer)
  const host = ctx.node.host
  const transport = ma.decapsulateCode(421) // /p2p/…: the peer store keeps addresses without it
  if (host !== null && transport.toString() !== '/') {
    // Remembering the address is a help, not a need: the target may be reachable otherwise.
    await host.peerStore.merge(peerIdFromString(id), { multiaddrs: [transport] })
      .catch((err: unknown) => ctx.log.debug(`the address ${transport} of ${id} was not remembered: ${reason(err)}`))
  }
  return id
}

function replicatorsOf({ node }: ApiContext): Replicators {
  if (node.replicators === null) throw new TandemError('NETWORK_OFF', 'The network is off (--no-p2p): replicators need it.')
  return node.replicators
}

export const replicators: Handlers<'replicators.set' | 'replicators.delete' | 'replicators.getall'> = {
  'replicators.set': async (ctx, { target, collections, documents }) => {
    const r = replicatorsOf(ctx)
    const id = await resolveTarget(ctx, target)
    return await r.set({ target: id, ...(collections !== undefined ? { collections } : {}), ...(documents !== undefined ? { documents } : {}) }) satisfies ReplicatorInfo
  },
  'replicators.delete': async (ctx, { target, collections }) => {
    const r = replicatorsOf(ctx)
    await r.remove(await resolveTarget(ctx, target), collections !== undefined ? { collections } : undefined)
    return null
  },
  // Without the network there are no replicators running; list none rather than fail.
  'replicators.getall': ({ node }) => node.replicators?.list() ?? [],
}
