/**
 * One TandemNode in a child process inside a network namespace, for internet scenarios (relay
 * server, relays, hole punching): like ./ns-node.ts, driven by JSON lines on stdin, answered by
 * JSON lines on stdout, logs on stderr; stops when stdin closes. Use it through `WanNode`
 * (./wan-client.ts).
 *
 *   ip netns exec NS <node> tests/helpers/wan-node.ts --data-dir DIR --listen MA… [--relay-server]
 *     [--stun-port N] [--relays MA…] [--hole-punch JSON] [--name NAME]
 */
import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'
import { TandemNode } from '../../main/node/tandem-node.ts'
import type { HolePunch } from '../../main/net/hole-punch.ts'
import type { RelayKeeper } from '../../main/net/relays.ts'
import type { StunService } from '../../main/net/stun-server.ts'
import { classifyConnection, selectedPair } from '../../main/net/paths.ts'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      listen: { type: 'string', multiple: true },
      'relay-server': { type: 'boolean', default: false },
      'stun-port': { type: 'string' },
      relays: { type: 'string', multiple: true },
      'hole-punch': { type: 'string' },
      name: { type: 'string' },
    },
  })
  const dataDir = values['data-dir']
  if (dataDir === undefined) throw new Error('--data-dir is required')
  const name = values.name ?? dataDir.slice(-6)
  const log = (msg: string): void => { process.stderr.write(`${new Date().toISOString()} [${name}] ${msg}\n`) }
  const startedAt = Date.now()
  const node = await TandemNode.start({
    dataDir, deviceName: name, log, mdns: false,
    listen: values.listen ?? [],
    relayServer: values['relay-server'],
    relays: values.relays ?? [],
    network: {
      stunPort: values['stun-port'] === undefined ? undefined : Number(values['stun-port']),
      holePunch: values['hole-punch'] === undefined ? undefined : JSON.parse(values['hole-punch']) as never,
    },
  })
  const host = node.host!
  const out = (line: unknown): void => { process.stdout.write(JSON.stringify(line) + '\n') }
  out({ event: 'ready', deviceID: node.deviceID, addrs: node.addresses(), startedAt, readyAt: Date.now() })

  const handlers: Record<string, (a: Record<string, unknown>) => Promise<unknown> | unknown> = {
    info: () => ({ deviceID: node.deviceID, addrs: node.addresses() }),
    invite: () => node.invite().uri,
    join: async (a) => (await node.join(String(a.uri))).deviceID,
    addCollections: (a) => node.db.addCollections(String(a.sdl)),
    /** `count` documents of `bytes` each, made here (so megabytes do not cross the pipe), in batches. */
    createMany: async (a) => {
      const count = Number(a.count)
      const bytes = Number(a.bytes)
      for (let i = 0; i < count; i += 50) {
        const n = Math.min(50, count - i)
        await node.db.createDocuments(String(a.collection), Array.from({ length: n }, (_, j) => ({
          title: `${String(a.prefix)} ${i + j}`, body: String((i + j) % 10).repeat(bytes),
        })))
      }
      return count
    },
    count: async (a) => (await node.db.listDocuments(String(a.collection))).total,
    peers: () => node.peers(),
    connected: () => node.connectedDevices(),
    holePunch: () => (host.services.holePunch as HolePunch | undefined)?.stats() ?? null,
    holePunchOn: () => { (host.services.holePunch as HolePunch).setEnabled(true); return null },
    relays: () => (host.services.relayKeeper as RelayKeeper | undefined)?.status() ?? [],
    stun: () => (host.services.stun as StunService | undefined)?.stats() ?? null,
    connections: () => host.getConnections().map((c) => ({ peer: c.remotePeer.toString(), addr: c.remoteAddr.toString(), direction: c.direction, limited: c.limits !== undefined, path: classifyConnection(c), pair: selectedPair(c), streams: c.streams.map((s) => s.protocol) })),
    doctor: () => node.doctor(),
    stop: async () => { await stop(); return null },
  }

  let stopping: Promise<void> | null = null
  const stop = (): Promise<void> => (stopping ??= node.stop())
  const rl = createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    if (line.trim() === '') return
    let id = -1
    void (async () => {
      const msg = JSON.parse(line) as { id: number; cmd: string; args?: Record<string, unknown> }
      id = msg.id
      const h = handlers[msg.cmd]
      if (h === undefined) throw new Error(`unknown command ${msg.cmd}`)
      out({ id, ok: true, result: (await h(msg.args ?? {})) ?? null })
      if (msg.cmd === 'stop') process.exit(0)
    })().catch((err: Error & { code?: string }) => out({ id, ok: false, error: { message: err.message, code: err.code } }))
  })
  rl.on('close', () => { void stop().finally(() => process.exit(0)) })
  process.once('SIGTERM', () => { void stop().finally(() => process.exit(0)) })
}

main().catch((err: Error) => {
  process.stderr.write(`wan-node failed: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
