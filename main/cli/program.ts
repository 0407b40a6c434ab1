/**
 * The `tandem` command line: `tandem start` (the node) and `tandem client …` (the API from a shell).
 * Parsed with commander: nested subcommands, `--help` on each of them, usage errors and repeatable
 * options come built in (node:util parseArgs has no subcommands or help), and it is small, has no
 * dependencies of its own and is kept up by its authors.
 * Exit codes: 0 done, 1 the call or the node failed, 2 bad usage.
 */
import { Command, CommanderError, Option } from 'commander'
import { DEFAULT_API_ADDR } from '../../shared/api/index.ts'
import { parseApiAddr, UsageError } from './api-addr.ts'
import { defaultDataDir } from './data-dir.ts'
import { collectionCommands } from './client/collections.ts'
import { documentCommands } from './client/documents.ts'
import { p2pCommands } from './client/p2p.ts'
import { pairingCommands } from './client/pairing.ts'
import { deviceCommands } from './client/devices.ts'
import { doctorCommands } from './client/doctor.ts'
import { syncCommands } from './client/sync.ts'
import { backupCommands } from './client/backup.ts'
import { version } from '../api/version.ts'

const list = (s: string | undefined): string[] => (s ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '')
const repeat = (value: string, prev: string[] = []): string[] => [...prev, value]

export function buildProgram(): Command {
  const program = new Command('tandem')
    .description("Tandem: one person's devices in sync, no central server.")
    .version(version)
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .allowExcessArguments(false)

  program.command('start')
    .description('Run a node: the database, the network and the API (loopback WebSocket) until Ctrl+C.')
    .option('--data-dir <dir>', 'where the node keeps its data (default: $TANDEM_DATA_DIR or the OS convention)')
    .option('--api-addr <host:port>', 'where the API listens, loopback only', DEFAULT_API_ADDR)
    .option('--p2paddr <multiaddr>', 'libp2p listen address, repeatable (default: /ip4/0.0.0.0/tcp/9171, as DEFAULT_LISTEN in main/net/host.ts)', repeat)
    .option('--no-p2p', 'no network at all: the database and the API only')
    .option('--peers <ma,...>', 'multiaddrs to dial at start')
    .option('--no-mdns', 'do not look for devices on the local network')
    .option('--relay-server', 'serve as a circuit relay for the group')
    .option('--relays <ma,...>', 'relays to reserve a slot on')
    .option('--announce <ma,...>', 'addresses to announce besides the listen ones (a relay server\'s public IP, a port forward)')
    .option('--stun-port <port|off>', 'relay server: UDP port of its STUN responder (default 3478; off: none)')
    .option('--stun <host:port,...>', "our own STUN servers for hole punching (default: each relay's host, port 3478; public STUN is never used)")
    .option('--device-name <name>', 'how other devices show this one (default: the host name)')
    .option('--anti-entropy <seconds>', 'head exchange with each connected device this often (default 30; 0: only on connect)')
    .option('--mass-delete <percent,docs,seconds|off>', 'hold deletions by another device of more than percent% and more than docs documents of a collection within seconds, until released or rejected (default 50,20,60)')
    .option('--backup-dir <dir>', 'write a car snapshot of the whole store here on a schedule (with --backup-every)')
    .option('--backup-every <hours>', 'hours between snapshots (fractions allowed: 0.5 is every 30 minutes)')
    .option('--backup-keep <n>', 'keep this many newest snapshots (default 7)')
    .option('--ui', 'also serve the window (built renderer) on the API port; prints its URL with the token')
    .action(async (o: {
      dataDir?: string; apiAddr: string; p2paddr?: string[]; p2p: boolean; peers?: string; mdns: boolean
      relayServer?: boolean; relays?: string; deviceName?: string; ui?: boolean
      announce?: string; stunPort?: string; stun?: string; antiEntropy?: string; massDelete?: string
      backupDir?: string; backupEvery?: string; backupKeep?: string
    }) => {
      let api
      let network
      let massDelete
      let backup
      try {
        backup = parseBackupFlags(o)
        api = parseApiAddr(o.apiAddr)
        network = parseNetworkFlags(o)
        if (o.antiEntropy !== undefined && !/^\d+(\.\d+)?$/.test(o.antiEntropy)) throw new UsageError(`--anti-entropy takes seconds (a number ≥ 0), not '${o.antiEntropy}'`)
        massDelete = o.massDelete === undefined ? undefined : parseMassDelete(o.massDelete)
      } catch (err) {
        if (err instanceof UsageError) throw new CommanderError(2, 'tandem.usage', `error: ${err.message}`)
        throw err
      }
      // Loaded only here: the node (libp2p, LevelDB) is heavy, and `tandem client` never needs it.
      const { runStart } = await import('./start.ts')
      await runStart({
        dataDir: o.dataDir ?? defaultDataDir(), api, p2p: o.p2p, ...(o.p2paddr !== undefined ? { listen: o.p2paddr } : {}),
        peers: list(o.peers), mdns: o.mdns, relayServer: o.relayServer === true, relays: list(o.relays),
        ...(o.deviceName !== undefined ? { deviceName: o.deviceName } : {}), ui: o.ui === true, network,
        ...(o.antiEntropy !== undefined ? { antiEntropyMs: Math.round(Number(o.antiEntropy) * 1000) } : {}),
        ...(massDelete !== undefined ? { massDelete } : {}),
        ...(backup !== undefined ? { backup } : {}),
      })
    })

  const client = program.command('client')
    .description('Use a running node through its API; prints JSON. Finds the node by --data-dir (its api.json) or --api/--token.')
    .option('--data-dir <dir>', "the node's data directory, to read its api.json (default: $TANDEM_DATA_DIR or the OS convention)")
    .addOption(new Option('--api <host:port>', 'the API address (with --token)').conflicts('dataDir'))
    .option('--token <token>', 'the API token (with --api)')
  collectionCommands(client)
  documentCommands(client)
  p2pCommands(client)
  pairingCommands(client)
  deviceCommands(client)
  doctorCommands(client)
  syncCommands(client)
  backupCommands(client)
  return program
}

/** Runs the command line; resolves to the exit code for usage errors and help (actions set process.exitCode themselves). */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'tandem.usage') process.stderr.write(`${err.message}\n${program.commands.find((c) => c.name() === 'start')!.helpInformation()}`)
      process.exit(err.exitCode === 0 ? 0 : 2)
    }
    throw err
  }
}

/** --announce, --stun-port, --stun → the node's network options (a bad value is a usage error). */
function parseNetworkFlags(o: { announce?: string; stunPort?: string; stun?: string }): { announce?: string[]; stunPort?: number | null; stunServers?: string[] } {
  const network: { announce?: string[]; stunPort?: number | null; stunServers?: string[] } = {}
  if (o.announce !== undefined) network.announce = list(o.announce)
  if (o.stunPort !== undefined) {
    if (o.stunPort === 'off') network.stunPort = null
    else if (/^\d{1,5}$/.test(o.stunPort) && Number(o.stunPort) >= 1 && Number(o.stunPort) <= 65535) network.stunPort = Number(o.stunPort)
    else throw new UsageError(`--stun-port takes a UDP port (1-65535) or off, not "${o.stunPort}"`)
  }
  if (o.stun !== undefined) {
    network.stunServers = list(o.stun).map((hp) => {
      const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(hp)
      if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`--stun takes host:port entries, not "${hp}"`)
      return `stun:${hp}`
    })
  }
  return network
}

/** --backup-dir, --backup-every HOURS (> 0, fractions allowed), --backup-keep N (≥ 1, default 7): all or none of dir and every. */
function parseBackupFlags(o: { backupDir?: string; backupEvery?: string; backupKeep?: string }): { dir: string; everyMs: number; keep: number } | undefined {
  if (o.backupDir === undefined && o.backupEvery === undefined) {
    if (o.backupKeep !== undefined) throw new UsageError('--backup-keep goes with --backup-dir and --backup-every')
    return undefined
  }
  if (o.backupDir === undefined || o.backupEvery === undefined) throw new UsageError('--backup-dir and --backup-every go together')
  if (!/^\d+(\.\d+)?$/.test(o.backupEvery) || Number(o.backupEvery) <= 0) throw new UsageError(`--backup-every takes hours (a number above 0, e.g. 24 or 0.5), not '${o.backupEvery}'`)
  const everyMs = Math.max(1, Math.round(Number(o.backupEvery) * 3_600_000))
  if (everyMs > 2 ** 31 - 1) throw new UsageError('--backup-every may be at most 596 hours')
  if (o.backupKeep !== undefined && (!/^\d+$/.test(o.backupKeep) || Number(o.backupKeep) < 1)) throw new UsageError(`--backup-keep takes a whole number ≥ 1, not '${o.backupKeep}'`)
  return { dir: o.backupDir, everyMs, keep: o.backupKeep === undefined ? 7 : Number(o.backupKeep) }
}

/** --mass-delete: 'off', or percent,docs,seconds (e.g. 50,20,60). */
function parseMassDelete(text: string): { ratio: number; minDocs: number; windowMs: number } | false {
  if (text === 'off') return false
  const m = /^(\d+(?:\.\d+)?),(\d+),(\d+(?:\.\d+)?)$/.exec(text)
  if (m === null || Number(m[1]) > 100 || Number(m[3]) <= 0) {
    throw new UsageError(`--mass-delete takes percent,docs,seconds (e.g. 50,20,60; percent at most 100, seconds above 0) or off, not '${text}'`)
  }
  return { ratio: Number(m[1]) / 100, minDocs: Number(m[2]), windowMs: Math.round(Number(m[3]) * 1000) }
}
