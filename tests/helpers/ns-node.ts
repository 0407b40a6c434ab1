/**
 * One TandemNode in a child process, meant to run inside a network namespace:
 *
 *   ip netns exec NS <node> tests/helpers/ns-node.ts --data-dir DIR --listen /ip4/10.77.0.1/tcp/0 [--mdns]
 *
 * Driven by JSON lines on stdin (`{"id":1,"cmd":"info","args":{}}`), answered by JSON lines on stdout
 * (`{"id":1,"ok":true,"result":…}` or `{"id":1,"ok":false,"error":{"message","code"}}`). Unsolicited
 * lines carry `event`: `ready` once the node runs, `discovered` for each libp2p `peer:discovery`.
 * Logs go to stderr. The process stops the node and exits when stdin closes (its test is gone).
 * Use it through `NsNode` (./ns-client.ts).
 */
import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'
import { randomBytes } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createHost, type Host } from '../../main/net/host.ts'
import { commitment } from '../../main/net/nearby/code.ts'
import { PROTOCOL as NEARBY } from '../../main/net/nearby/constants.ts'
import { TandemNode } from '../../main/node/tandem-node.ts'
import type { DeviceRecord } from '../../main/net/group.ts'
import type { CollectionInfo, DocumentView, ListResult } from '../../shared/types.ts'
import type { DoctorReport } from '../../shared/api/doctor.ts'

/** Each command's arguments and result. */
export interface Commands {
  info: { args: Record<string, never>; result: { deviceID: string; addrs: string[] } }
  addCollections: { args: { sdl: string }; result: CollectionInfo[] }
  createDocument: { args: { collection: string; fields: Record<string, unknown> }; result: string }
  getDocument: { args: { collection: string; id: string }; result: DocumentView }
  listDocuments: { args: { collection: string }; result: ListResult }
  /** The group secret, base64. */
  groupSecret: { args: Record<string, never>; result: string }
  setSecret: { args: { secret: string }; result: null }
  groupAdd: { args: { deviceID: string; addrs: string[]; name?: string }; result: DeviceRecord }
  /** Peers the libp2p peer store knows (other than this node), with their addresses. */
  nearby: { args: Record<string, never>; result: Array<{ peer: string; addrs: string[] }> }
  /** Group devices connected now, and every peer with a connection. */
  connected: { args: Record<string, never>; result: { devices: string[]; peers: string[] } }
  /** The connectivity doctor's report (mDNS judged after `mdnsGraceMs`). */
  doctor: { args: { mdnsGraceMs?: number }; result: DoctorReport }
  stop: { args: Record<string, never>; result: null }
  /** TandemNode.nearby(): mDNS-found devices not in the group. */
  nearbyDevices: { args: Record<string, never>; result: Array<{ peerID: string; name?: string; addresses: string[]; discoveredAt: number }> }
  requestPairing: { args: { peerID: string }; result: { id: string; code: string } }
  acceptPairing: { args: { id: string; code: string }; result: null }
  openPairing: { args: Record<string, never>; result: { open: boolean; until: number | null } }
  declinePairing: { args: { id: string }; result: null }
  /** Dials a multiaddr (a peer to ask to pair without mDNS). */
  dial: { args: { addr: string }; result: null }
  /**
   * A flood: `count` fresh peer IDs (raw libp2p hosts in this process, on this address) each send a
   * nearby request to `to` and keep it pending; the answer each got (`shown`, or an error code).
   */
  floodNearby: { args: { to: string; count: number }; result: Array<{ t: string; code?: string }> }
  updateDocument: { args: { collection: string; id: string; fields: Record<string, unknown> }; result: null }
  invite: { args: { ttlMinutes?: number }; result: { id: string; uri: string; expiresAt: number } }
  join: { args: { uri: string }; result: string }
  removeDevice: { args: { deviceID: string }; result: null }
  groupDevices: { args: Record<string, never>; result: string[] }
  /** Runs head exchange with a peer that is not in the group: must be refused. */
  probeHeads: { args: { peerID: string }; result: string }
}
export type Command = keyof Commands

export type NodeEvent =
  | { event: 'ready'; deviceID: string; addrs: string[]; startedAt: number; readyAt: number }
  | { event: 'discovered'; peer: string; addrs: string[]; at: number; beforeReady?: boolean }
  | { event: 'pairing:request'; id: string; peerID: string; claimedName?: string; direction: string; at: number }
  | { event: 'pairing:resolved'; id: string; outcome: string; at: number }
  | { event: 'nearby'; at: number }

export type Reply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { message: string; code?: string } }

function out(line: NodeEvent | Reply): void {
  process.stdout.write(JSON.stringify(line) + '\n')
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      listen: { type: 'string', multiple: true },
      mdns: { type: 'boolean', default: false },
      name: { type: 'string' },
    },
  })
  const dataDir = values['data-dir']
  if (dataDir === undefined) throw new Error('--data-dir is required')
  const log = (msg: string): void => { process.stderr.write(`[ns-node ${dataDir.slice(-6)}] ${msg}\n`) }

  const startedAt = Date.now()
  const node = await TandemNode.start({ dataDir, listen: values.listen ?? [], mdns: values.mdns, deviceName: values.name, log })
  const host = node.host!
  const self = node.deviceID
  host.addEventListener('peer:discovery', (evt) => {
    out({ event: 'discovered', peer: evt.detail.id.toString(), addrs: evt.detail.multiaddrs.map((a) => a.toString()), at: Date.now() })
  })
  node.on('pairing:request', (r) => out({ event: 'pairing:request', id: r.id, peerID: r.peerID, claimedName: r.claimedName, direction: r.direction, at: Date.now() }))
  node.on('pairing:resolved', (r) => out({ event: 'pairing:resolved', id: r.id, outcome: r.outcome, at: Date.now() }))
  node.on('nearby', () => out({ event: 'nearby', at: Date.now() }))
  out({ event: 'ready', deviceID: self, addrs: node.addresses(), startedAt, readyAt: Date.now() })
  // Discoveries during TandemNode.start, before the listener existed, are in the peer store already
  // (a fresh data dir and no group: nothing else put peers there).
  for (const p of await host.peerStore.all()) {
    if (p.id.toString() === self || p.addresses.length === 0) continue
    out({ event: 'discovered', peer: p.id.toString(), addrs: p.addresses.map((a) => a.multiaddr.toString()), at: Date.now(), beforeReady: true })
  }

  const flooders: Host[] = []
  let stopping: Promise<void> | null = null
  const stop = (): Promise<void> => (stopping ??= Promise.allSettled(flooders.map((h) => h.stop())).then(() => node.stop()))
  const flood = async (to: string): Promise<{ t: string; code?: string }> => {
    const ip = /^\/ip4\/([^/]+)/.exec(values.listen?.[0] ?? '')?.[1] ?? '0.0.0.0'
    const h = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [`/ip4/${ip}/tcp/0`], isMember: () => false })
    flooders.push(h)
    const target = multiaddr(to)
    const end = Date.now() + 30_000
    for (;;) {
      try {
        await h.dial(target, { signal: AbortSignal.timeout(5000) })
        break
      } catch (err) {
        // libp2p takes a few new inbound connections a second from one address: retry.
        if (Date.now() > end) return { t: 'unreachable', code: (err as Error).message }
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200))
      }
    }
    const lp = lpStream(await h.dialProtocol(target, NEARBY, { signal: AbortSignal.timeout(5000) }))
    const read = async (): Promise<{ t: string; code?: string }> => dagCbor.decode((await lp.read({ signal: AbortSignal.timeout(15_000) })).subarray())
    const nonce = randomBytes(16)
    await lp.write(dagCbor.encode({ t: 'request', v: 1, name: 'laptop', commit: commitment(h.peerId.toString(), nonce) }))
    const first = await read()
    if (first.t !== 'nonce') return { t: first.t, code: first.code }
    await lp.write(dagCbor.encode({ t: 'reveal', nonce }))
    const second = await read() // the stream stays open: the request stays pending
    return second.t === 'shown' ? { t: 'shown' } : { t: second.t, code: second.code }
  }

  const handlers: { [C in Command]: (args: Commands[C]['args']) => Promise<Commands[C]['result']> } = {
    info: async () => ({ deviceID: self, addrs: node.addresses() }),
    addCollections: (a) => node.db.addCollections(a.sdl),
    createDocument: (a) => node.db.createDocument(a.collection, a.fields),
    getDocument: (a) => node.db.getDocument(a.collection, a.id),
    listDocuments: (a) => node.db.listDocuments(a.collection),
    groupSecret: async () => Buffer.from(node.group.secret.bytes).toString('base64'),
    setSecret: async (a) => { await node.group.setSecret(new Uint8Array(Buffer.from(a.secret, 'base64'))); return null },
    groupAdd: (a) => node.group.add({ deviceID: a.deviceID, name: a.name, addrs: a.addrs }),
    nearby: async () => (await host.peerStore.all())
      .filter((p) => p.id.toString() !== self)
      .map((p) => ({ peer: p.id.toString(), addrs: p.addresses.map((a) => a.multiaddr.toString()) })),
    connected: async () => ({
      devices: node.connectedDevices(),
      peers: [...new Set(host.getConnections().map((c) => c.remotePeer.toString()))],
    }),
    doctor: (a) => node.doctor({ mdnsGraceMs: a.mdnsGraceMs }),
    stop: async () => { await stop(); return null },
    nearbyDevices: async () => node.nearby(),
    requestPairing: (a) => node.requestPairing(a.peerID),
    acceptPairing: async (a) => { await node.acceptPairing(a.id, a.code); return null },
    openPairing: async () => node.openPairing(),
    declinePairing: async (a) => { await node.declinePairing(a.id); return null },
    dial: async (a) => { await node.dial(a.addr); return null },
    floodNearby: (a) => Promise.all(Array.from({ length: a.count }, () => flood(a.to).catch((err: Error) => ({ t: 'failed', code: err.message })))),
    updateDocument: async (a) => { await node.db.updateDocument(a.collection, a.id, a.fields); return null },
    invite: async (a) => node.invite(a),
    join: async (a) => (await node.join(a.uri)).deviceID,
    removeDevice: async (a) => { await node.removeDevice(a.deviceID); return null },
    groupDevices: async () => node.group.list().map((d) => d.deviceID),
    probeHeads: async (a) => {
      try {
        await node.heads!.compare(peerIdFromString(a.peerID), (await node.db.listCollections()).map((c) => c.id))
        return 'answered'
      } catch (err) {
        return `refused: ${(err as Error).message}`
      }
    },
  }

  const rl = createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    if (line.trim() === '') return
    let id = -1
    void (async () => {
      const msg = JSON.parse(line) as { id: number; cmd: Command; args?: unknown }
      id = msg.id
      const handler = handlers[msg.cmd] as ((args: unknown) => Promise<unknown>) | undefined
      if (handler === undefined) throw new Error(`unknown command ${String(msg.cmd)}`)
      const result = await handler(msg.args ?? {})
      out({ id, ok: true, result: result ?? null })
      if (msg.cmd === 'stop') process.exit(0)
    })().catch((err: Error & { code?: string }) => {
      out({ id, ok: false, error: { message: err.message, code: err.code } })
    })
  })
  // The test that drives us is gone (or closed stdin): stop cleanly and leave.
  rl.on('close', () => { void stop().finally(() => process.exit(0)) })
  process.once('SIGTERM', () => { void stop().finally(() => process.exit(0)) })
}

main().catch((err: Error) => {
  process.stderr.write(`ns-node failed: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
