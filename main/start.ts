/**
 * `npm start`: a headless Tandem node on a data directory — the database and, unless --no-p2p,
 * the network (libp2p on /ip4/0.0.0.0/tcp/9171 by default, mDNS discovery on the local network,
 * sync with the group's devices). Runs until SIGINT/SIGTERM, then stops cleanly.
 */
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { TandemNode } from './node/tandem-node.ts'
import { DEFAULT_LISTEN } from './net/host.ts'
import { defaultDataDir } from './cli/data-dir.ts'
import { isTandemError } from '../shared/errors.ts'

const USAGE = `usage: npm start -- [--data-dir DIR] [--p2paddr MULTIADDR]… [--peers MA[,MA…]] [--no-p2p] [--no-mdns]

  --data-dir DIR       where the node keeps its data (default: $TANDEM_DATA_DIR or ${defaultDataDir()})
  --p2paddr MULTIADDR  listen address, repeatable (default: ${DEFAULT_LISTEN.join(', ')})
  --peers MA[,MA…]     multiaddrs to dial at start
  --no-p2p             no network at all: the local database only
  --no-mdns            do not look for devices on the local network
  --relay-server       serve as a circuit relay for the group
  --relays MA[,MA…]    relays to reserve a slot on
  -h, --help           show this help`

let args
try {
  args = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      p2paddr: { type: 'string', multiple: true },
      peers: { type: 'string' },
      'no-p2p': { type: 'boolean' },
      'no-mdns': { type: 'boolean' },
      'relay-server': { type: 'boolean' },
      relays: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values
} catch (err) {
  process.stderr.write(`tandem: ${(err as Error).message}\n${USAGE}\n`)
  process.exit(2)
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}

const list = (s: string | undefined): string[] => (s ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '')
const dataDir = resolve(args['data-dir'] ?? defaultDataDir())
let node: TandemNode
try {
  node = await TandemNode.start({
    dataDir,
    p2p: args['no-p2p'] !== true,
    listen: args.p2paddr,
    peers: list(args.peers),
    mdns: args['no-mdns'] !== true,
    relayServer: args['relay-server'] === true,
    relays: list(args.relays),
    log: (msg) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`),
  })
} catch (err) {
  process.stderr.write(`tandem: ${isTandemError(err) ? err.message : String(err)}\n`)
  process.exit(1)
}

const collections = await node.db.listCollections()
const addrs = node.addresses()
process.stdout.write(`Tandem node ready\n  device ID: ${node.deviceID}\n  data dir:  ${dataDir}\n` +
  `  collections: ${collections.length === 0 ? 'none yet' : collections.map((c) => `${c.name} (${c.count})`).join(', ')}\n` +
  `  devices in group: ${node.group.list().length}\n` +
  (node.host === null ? '  network: off (--no-p2p)\n' : `  listening on:\n${addrs.map((a) => `    ${a}`).join('\n')}\n`) +
  'Press Ctrl+C to stop.\n')
node.on('peer:connect', (d) => process.stdout.write(`device connected: ${d}\n`))
node.on('peer:disconnect', (d) => process.stdout.write(`device disconnected: ${d}\n`))
node.on('sync', (r) => {
  if (r.fetched > 0) process.stdout.write(`synced with ${r.peer}: ${r.applied} changes from ${r.differingDocs} documents\n`)
})

let stopping = false
async function stop(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  process.stdout.write(`\n${signal}: stopping…\n`)
  await node.stop()
  process.stdout.write('stopped cleanly\n')
  process.exit(0)
}
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))
// With --no-p2p nothing else keeps the event loop alive until a signal arrives.
setInterval(() => {}, 1 << 30)
