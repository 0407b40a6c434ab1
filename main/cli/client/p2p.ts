import type { Command } from 'commander'
import type { ReplicatorInfo } from '../../../shared/api/index.ts'
import { TandemError } from '../../../shared/errors.ts'
import type { ApiClient } from '../../api/ws-client.ts'
import { action, parseIntArg } from './run.ts'

const collect = (value: string, prev: string[] = []): string[] => [...prev, ...value.split(',').map((s) => s.trim()).filter((s) => s !== '')]

/** The peer ID a replicator target (peer ID or multiaddr ending /p2p/<id>) names. */
function peerOf(target: string): string {
  return target.startsWith('/') ? (target.split('/p2p/').pop() ?? target).split('/')[0]! : target
}

async function setReplicator(api: ApiClient, collections: string[], target: string, wait: { on: boolean; timeoutS?: number }): Promise<ReplicatorInfo> {
  if (collections.length === 0) throw new TandemError('INVALID_INPUT', 'Name the collections to replicate with -c COLLECTION.')
  if (!wait.on) return api.call('replicators.set', { target, collections })
  await api.subscribe(['replicator'])
  const peer = peerOf(target)
  let latest: ReplicatorInfo | undefined
  const done = (r: ReplicatorInfo | undefined): boolean => r !== undefined && r.initialSync.state === 'done'
  const bar = process.stderr.isTTY ? progressBar() : null
  let poll: NodeJS.Timeout | undefined
  const settled = new Promise<ReplicatorInfo>((resolve) => {
    const check = (r: ReplicatorInfo): void => {
      if (r.target !== peer) return
      latest = r
      bar?.(r)
      if (done(r)) resolve(r)
    }
    api.onEvent<'replicator'>((_e, r) => check(r))
    // Events can be missed between set and subscribe: poll as well.
    poll = setInterval(() => {
      // A poll that fails is made up by the next one or by the event; the call that waits reports its own errors.
      void api.call('replicators.getall').then((all) => { const r = all.find((x) => x.target === peer); if (r !== undefined) check(r) }).catch(() => {})
    }, 500)
  }).finally(() => clearInterval(poll))
  latest = await api.call('replicators.set', { target, collections })
  bar?.(latest)
  const timeout = wait.timeoutS !== undefined && wait.timeoutS > 0
    ? new Promise<never>((_, reject) => setTimeout(() => reject(new TandemError('UNREACHABLE', `The initial sync did not finish within ${wait.timeoutS} s (target ${latest?.connected === true ? 'connected' : 'not connected'}).`)), wait.timeoutS! * 1000).unref())
    : null
  try {
    return await (timeout === null ? settled : Promise.race([settled, timeout]))
  } finally {
    clearInterval(poll)
    if (bar !== null) process.stderr.write('\n')
  }
}

function progressBar(): (r: ReplicatorInfo) => void {
  return (r) => {
    const { state, done, total } = r.initialSync
    const width = 30
    const frac = total > 0 ? Math.min(1, done / total) : state === 'done' ? 1 : 0
    const filled = Math.round(frac * width)
    const label = state === 'waiting' ? (r.connected ? 'waiting' : 'waiting for the device to connect') : state
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label}   `)
  }
}

export function p2pCommands(client: Command): void {
  const p = client.command('p2p').description('This device on the network, and replicators.')
  p.command('info').description('Peer ID, device name, addresses, network state, pending outgoing changes.')
    .action(action((api) => api.call('node.info')))
  p.command('pause').description('Go offline (edits go on locally).').action(action((api) => api.call('network.pause')))
  p.command('resume').description('Go back online.').action(action((api) => api.call('network.resume')))

  const r = p.command('replicator').description('Standing orders to push collections to a device.')
  r.command('set').argument('<multiaddr>', "the device's multiaddr ending in /p2p/<peer ID> (or just its peer ID)")
    .requiredOption('-c, --collection <names>', 'collection(s) to replicate (repeat, or comma-separate)', collect)
    .option('--wait', 'wait for the initial sync (progress bar on a TTY)')
    .option('--timeout <seconds>', 'with --wait: give up after this long')
    .description('Replicate collections to a paired device; prints the replicator.')
    .action(action((api, target: string, o: { collection: string[]; wait?: boolean; timeout?: string }) =>
      setReplicator(api, o.collection, target, { on: o.wait === true, ...(o.timeout !== undefined ? { timeoutS: parseIntArg(o.timeout, '--timeout') } : {}) })))
  r.command('delete').argument('<peerID>', 'the target device (peer ID or multiaddr)')
    .option('-c, --collection <names>', 'only stop these collections (repeat, or comma-separate)', collect)
    .description('Stop replicating to a device.')
    .action(action((api, target: string, o: { collection?: string[] }) =>
      api.call('replicators.delete', { target, ...(o.collection !== undefined ? { collections: o.collection } : {}) })))
  r.command('getall').description('Every replicator: state, pending, last ack, last error.')
    .action(action((api) => api.call('replicators.getall')))

  const rpc = client.command('rpc').description("DefraDB's older command forms.")
  rpc.command('addreplicator').argument('<collection>').argument('<multiaddr>')
    .option('--wait', 'wait for the initial sync')
    .description('Same as `p2p replicator set -c COLLECTION MULTIADDR`.')
    .action(action((api, collection: string, target: string, o: { wait?: boolean }) => setReplicator(api, collect(collection), target, { on: o.wait === true })))
}
