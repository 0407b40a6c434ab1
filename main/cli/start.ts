/**
 * `tandem start`: a headless node on a data directory — the database, the network unless --no-p2p,
 * and the API on a loopback WebSocket (token in <data-dir>/api.json); with --ui also the window's
 * UI over HTTP on the same port. Runs until SIGINT/SIGTERM, then stops cleanly.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { resolve } from 'node:path'
import { TandemNode } from '../node/tandem-node.ts'
import { createApi } from '../api/implementation.ts'
import { startApiServer, type ApiServer } from '../api/ws-server.ts'
import { startingApi } from '../api/starting.ts'
import { UPGRADES } from '../db/upgrades/index.ts'
import type { UpgradeStep } from '../db/upgrades/step.ts'
import { newToken } from '../api/auth.ts'
import { writeApiFile, removeApiFile } from './api-file.ts'
import { isTandemError } from '../../shared/errors.ts'
import { createLogger, reason } from '../net/logger.ts'
import { SnapshotSchedule } from '../db/backup/schedule.ts'
import { backupContext } from '../api/handlers/backup.ts'

export interface StartOptions {
  dataDir: string
  api: { host: string; port: number }
  p2p: boolean
  listen?: string[]
  peers: string[]
  mdns: boolean
  relayServer: boolean
  relays: string[]
  deviceName?: string
  /** Anti-entropy period in ms (--anti-entropy seconds). */
  antiEntropyMs?: number
  /** The mass-delete guard (--mass-delete percent,docs,seconds | off). */
  massDelete?: { ratio: number; minDocs: number; windowMs: number } | false
  ui: boolean
  /** Local snapshots (--backup-dir, --backup-every, --backup-keep): a car every everyMs, the newest keep kept. */
  backup?: { dir: string; everyMs: number; keep: number }
  /** Relay server and hole-punching settings (--announce, --stun-port, --stun). */
  network?: { announce?: string[]; stunPort?: number | null; stunServers?: string[] }
}

/** The built renderer (electron-vite build), served by --ui. */
export const UI_DIR = fileURLToPath(new URL('../../out/renderer/', import.meta.url))

const out = (s: string): void => { process.stdout.write(`${s}\n`) }
const err = (s: string): void => { process.stderr.write(`${s}\n`) }

export async function runStart(o: StartOptions): Promise<void> {
  const dataDir = resolve(o.dataDir)
  if (o.ui && !existsSync(resolve(UI_DIR, 'index.html'))) {
    err(`tandem: --ui serves the built window from ${UI_DIR}, which is not there: run \`npm run build\` first.`)
    process.exit(1)
  }
  // Lines as before: the ISO time, then "namespace: message"; debug lines only with TANDEM_DEBUG=1.
  const log = createLogger((line) => err(`${new Date().toISOString()} ${line}`))
  // The API (and the window) come up before the node, so a long store upgrade shows in the window:
  // until the node is up every call answers NODE_STARTING but node.status (main/api/starting.ts).
  const starting = startingApi()
  const token = newToken()
  let server: ApiServer
  try {
    server = await startApiServer({ api: starting.api, events: starting.events, host: o.api.host, port: o.api.port, token, ...(o.ui ? { uiDir: UI_DIR } : {}) })
  } catch (e) {
    err(`tandem: the API cannot listen on ${o.api.host}:${o.api.port}: ${(e as Error).message} (another node? pick one with --api-addr)`)
    process.exit(1)
  }
  if (o.ui) out(`Tandem is starting; the window: http://${server.address}/#token=${token}`)
  const slow = slowUpgradesForTests()
  let node: TandemNode
  try {
    node = await TandemNode.start({
      dataDir, p2p: o.p2p, listen: o.listen, peers: o.peers, mdns: o.mdns, relayServer: o.relayServer, relays: o.relays,
      ...(o.deviceName !== undefined ? { deviceName: o.deviceName } : {}),
      ...(o.antiEntropyMs !== undefined ? { antiEntropyMs: o.antiEntropyMs } : {}),
      ...(o.massDelete !== undefined ? { massDelete: o.massDelete } : {}),
      ...(o.network !== undefined ? { network: o.network } : {}),
      ...(slow !== undefined ? { upgrades: slow } : {}),
      onUpgradeProgress: starting.upgradeProgress,
      log,
    })
  } catch (e) {
    err(`tandem: ${isTandemError(e) ? `${e.message} [${e.code}]` : String(e)}`)
    await server.close().catch(() => {})
    process.exit(1)
  }
  starting.ready(node, createApi(node))
  // CLI clients find the node by api.json: written once it answers every call.
  await writeApiFile(dataDir, { address: server.address, token, pid: process.pid })

  const collections = await node.db.listCollections()
  out('Tandem node ready')
  out(`  peer ID:      ${node.deviceID}`)
  out(`  device name:  ${node.group.name}`)
  out(`  data dir:     ${dataDir}`)
  out(`  collections:  ${collections.length === 0 ? 'none yet' : collections.map((c) => `${c.name} (${c.count})`).join(', ')}`)
  out(`  devices:      ${node.group.list().length} in the group`)
  if (node.host === null) out('  network:      off (--no-p2p)')
  else {
    out('  listening on:')
    for (const a of node.addresses()) out(`    ${a}`)
  }
  out(`  API:          ws://${server.address}/api (token in ${resolve(dataDir, 'api.json')})`)
  if (o.ui) out(`  UI:           http://${server.address}/#token=${token}`)
  let snapshots: SnapshotSchedule | undefined
  if (o.backup !== undefined) {
    snapshots = new SnapshotSchedule(backupContext(node), { ...o.backup, dir: resolve(o.backup.dir), log: (msg) => err(`${new Date().toISOString()} ${msg}`) })
    snapshots.start()
    out(`  snapshots:    a car every ${o.backup.everyMs / 3_600_000} h in ${resolve(o.backup.dir)}, the last ${o.backup.keep} kept`)
  }
  out('Press Ctrl+C to stop.')
  node.on('peer:connect', (d) => out(`device connected: ${d}`))
  node.on('peer:disconnect', (d) => out(`device disconnected: ${d}`))
  node.on('sync', (r) => {
    if (r.fetched > 0) out(`synced with ${r.peer}: ${r.applied} changes from ${r.differingDocs} documents`)
  })

  let stopping = false
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      err(`${signal} again: exiting now`)
      process.exit(1)
    }
    stopping = true
    out(`${signal}: stopping…`)
    const cli = log.forComponent('cli')
    await removeApiFile(dataDir).catch((e: unknown) => cli.debug(`api.json not removed: ${reason(e)}`))
    await server.close().catch((e: unknown) => cli.debug(`the API server did not close cleanly: ${reason(e)}`))
    await snapshots?.stop()
    await node.stop()
    out('stopped cleanly')
    process.exit(0)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))
  // With --no-p2p nothing else may keep the event loop alive until a signal arrives.
  setInterval(() => {}, 1 << 30)
}

/**
 * TEST-ONLY: with TANDEM_TEST_SLOW_UPGRADE_MS=N each store upgrade step first spends N ms reporting
 * progress (0 to 100 of 100), so an e2e test sees the window's upgrade screen. Never set it otherwise.
 */
function slowUpgradesForTests(): UpgradeStep[] | undefined {
  const ms = Number(process.env['TANDEM_TEST_SLOW_UPGRADE_MS'] ?? '')
  if (!Number.isFinite(ms) || ms <= 0) return undefined
  return UPGRADES.map((step) => ({
    ...step,
    async run(ctx) {
      for (let i = 0; i < 100; i++) {
        ctx.progress(i, 100)
        await new Promise((r) => setTimeout(r, ms / 100))
      }
      ctx.progress(100, 100)
      await step.run(ctx)
    },
  }))
}
