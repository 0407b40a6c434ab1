/**
 * One device of bench/group.ts (W6), in its own process: a Tandem node on 127.0.0.1 (port 0, no
 * mDNS) driven by its parent over the IPC channel. Each device has its own process so that its CPU
 * (process.cpuUsage) and the bytes on its TCP sockets are its own, as on real devices, and so that
 * five receivers do not queue on one event loop.
 *
 *   fork('bench/group-device.ts')   — never run by hand
 *
 * Requests are { id, cmd, args }; each gets one reply { id, ok, value } or { id, ok: false, error }.
 * Times are process.hrtime (CLOCK_MONOTONIC, the same clock in every process of the machine), in ms,
 * so the parent can subtract a time taken here from one taken in another device.
 *
 * Bytes on the wire: every TCP socket this process opens or accepts (node:diagnostics_channel's
 * net.client.socket / net.server.socket) counts its bytesRead / bytesWritten — what TCP carried for
 * this device: Noise-encrypted Yamux frames of every protocol (gossip, head exchange, DAG sync,
 * identify, ping), not counting TCP/IP headers.
 */
import { subscribe } from 'node:diagnostics_channel'
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import type { Socket } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { TandemNode } from '../main/node/tandem-node.ts'
import type { ChangeEvent } from '../main/db/database.ts'
import { identityFromKey, loadOrCreateIdentity } from '../main/db/identity.ts'
import { createHost, type Host } from '../main/net/host.ts'
import { Channel } from '../main/net/wire.ts'
import { PROTOCOL as DAG_PROTOCOL } from '../main/net/dag-sync/constants.ts'
import { PROTOCOL as HEADS_PROTOCOL } from '../main/net/head-exchange/constants.ts'
import { PROTOCOL as REPLICATE_PROTOCOL } from '../main/net/replicate/constants.ts'
import type { Stream } from '@libp2p/interface'
import { z } from 'zod'
import { BOOKS, gc, makeDoc } from './common.ts'

const LOOPBACK = '/ip4/127.0.0.1/tcp/0'
const BATCH = 1000
/** The gossip limit's one topic, and its message size: about a sealed one-edit payload of Tandem's. */
const RAW_TOPIC = '/tandem-bench/raw-gossip'
/** The streams limit's protocol, and its one message: `{ d: bytes }` (its first 8 bytes name it). */
const STREAMS_PROTOCOL = '/tandem-bench/streams/1.0.0'
const StreamsMessage = z.object({ d: z.instanceof(Uint8Array) })
const RAW_BYTES = 600

const now = (): number => Number(process.hrtime.bigint()) / 1e6

// ---- bytes on this device's TCP sockets ----

const live = new Set<Socket>()
let closedIn = 0
let closedOut = 0
let sockets = 0
const track = (msg: unknown): void => {
  const socket = (msg as { socket: Socket }).socket
  live.add(socket)
  sockets++
  socket.once('close', () => {
    live.delete(socket)
    closedIn += socket.bytesRead
    closedOut += socket.bytesWritten
  })
}
subscribe('net.client.socket', track)
subscribe('net.server.socket', track)

function counters(): { t: number; cpuUserUs: number; cpuSystemUs: number; bytesIn: number; bytesOut: number; sockets: number } {
  let bytesIn = closedIn
  let bytesOut = closedOut
  for (const s of live) {
    bytesIn += s.bytesRead
    bytesOut += s.bytesWritten
  }
  const cpu = process.cpuUsage()
  return { t: now(), cpuUserUs: cpu.user, cpuSystemUs: cpu.system, bytesIn, bytesOut, sockets }
}

// ---- the node and what it saw arrive ----

let node: TandemNode | null = null
/** The gossip limit: Tandem's libp2p host (the same gossipsub settings) with no database behind it. */
let raw: Host | null = null
/** The streams limit: this device's open streams to the others (`streamsOpen`). */
let streams: Channel[] = []
let session: Session | null = null
const the = (): TandemNode => {
  if (node === null) throw new Error('the node is not started')
  return node
}

/** Remote changes: per block CID, when it arrived (only while recording: the edit phase). */
const arrivals = new Map<string, number>()
const cidWaiters = new Map<string, (t: number) => void>()
let recording = false
/** Distinct documents changed from remote since `countDocs` (the catch-up phase), and when the last one came. */
let counting: { seen: Set<string>; target: number; resolve: ((t: number) => void) | null; lastT: number; tenths: number[] } | null = null

function onChange(ev: ChangeEvent): void {
  if (ev.origin !== 'remote') return
  const t = now()
  if (recording) {
    for (const cid of ev.cids) {
      arrivals.set(cid, t)
      cidWaiters.get(cid)?.(t)
    }
  }
  if (counting !== null) {
    counting.seen.add(ev.docID)
    counting.lastT = t
    // When the first document, then each further tenth of them, had arrived.
    while (counting.tenths.length <= 10 && counting.seen.size >= Math.max(1, Math.ceil((counting.tenths.length / 10) * counting.target))) counting.tenths.push(t)
    if (counting.resolve !== null && counting.seen.size >= counting.target) {
      counting.resolve(t)
      counting.resolve = null
    }
  }
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s waiting for ${what}`)), ms) })
  return Promise.race([p, t]).finally(() => clearTimeout(timer))
}

async function total(): Promise<number> {
  return (await the().db.listDocuments('Books', { limit: 0 })).total
}

async function digest(): Promise<string> {
  const ds = await the().db.collectionDigests()
  return [...ds.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, d]) => `${id}:${Buffer.from(d).toString('hex')}`).join(',')
}

type Args = Record<string, any>
const commands: Record<string, (a: Args) => Promise<unknown> | unknown> = {
  async start(a) {
    // BENCH_LOG=1: each device's log on stderr, with the time (ms) and its data directory's last characters.
    const tag = String(a.dataDir).slice(-4)
    const log = process.env.BENCH_LOG ? { log: (m: string) => console.error(`${Date.now() % 100_000} ${tag} ${m}`) } : {}
    node = await TandemNode.start({ dataDir: a.dataDir, ...log, ...(a.p2p === false ? { p2p: false } : { listen: [LOOPBACK], mdns: false }) })
    node.db.on('change', onChange)
    return { deviceID: node.deviceID, addrs: node.addresses() }
  },
  /**
   * The bystanders catch-up: this device stays a connected member (group and schema exchanges,
   * gossip, identify, ping) but serves no heads and no blocks: a device asking is refused at once.
   */
  async serveNothing() {
    const host = the().host
    if (host === null) throw new Error('the node has no network')
    for (const protocol of [DAG_PROTOCOL, HEADS_PROTOCOL, REPLICATE_PROTOCOL]) await host.unhandle(protocol)
  },
  async stop() {
    if (raw !== null) {
      await raw.stop()
      raw = null
    }
    if (node !== null) {
      node.db.off('change', onChange)
      await node.stop()
      node = null
    }
    return null
  },
  async addBooks() {
    await the().db.addCollections(BOOKS)
    return null
  },
  /** N new documents in batches of 1000; returns their IDs when `ids`. */
  async createDocs(a) {
    const n = a.n as number
    const ids: string[] = []
    for (let i = 0; i < n; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => makeDoc(i + j))
      const made = await the().db.createDocuments('Books', batch)
      if (a.ids === true) ids.push(...made)
    }
    return a.ids === true ? ids : null
  },
  async blockStats() {
    let blocks = 0
    let blockBytes = 0
    for await (const { bytes } of the().db.allBlocks()) {
      blocks++
      blockBytes += bytes.length
    }
    return { blocks, blockBytes }
  },
  secret() {
    return Buffer.from(the().group.secret.bytes).toString('base64')
  },
  async setSecret(a) {
    await the().group.setSecret(Buffer.from(a.secret as string, 'base64'))
    return null
  },
  async addDevices(a) {
    for (const d of a.devices as Array<{ deviceID: string; addrs: string[] }>) {
      await the().group.add({ deviceID: d.deviceID, name: `bench-${d.deviceID.slice(-4)}`, addrs: d.addrs })
    }
    return null
  },
  async state(a) {
    const n = the()
    return {
      deviceID: n.deviceID, addrs: n.addresses(), connected: n.connectedDevices(), syncing: n.syncing,
      ...(a.data === false ? {} : { total: await total(), digest: await digest() }),
    }
  },
  /** CPU and wire bytes so far; `gc` first collects garbage (before a phase, not after one: it would count on the phase). */
  counters: (a) => { if (a.gc === true) gc(); return counters() },
  /** Edit phase: from now on, remember when each remote block arrives. */
  record(a) {
    recording = a.on === true
    arrivals.clear()
    cidWaiters.clear()
    return null
  },
  /** One edit: returns when it started and ended here and the block it wrote. */
  async edit(a) {
    const t0 = now()
    const view = await the().db.updateDocument('Books', a.docID as string, { pages: (a.i as number) + 1 })
    return { t0, t1: now(), cid: view.heads[0] }
  },
  /** When the remote block `cid` arrived here (waits for it, bounded). */
  async arrived(a) {
    const cid = a.cid as string
    const seen = arrivals.get(cid)
    if (seen !== undefined) return seen
    const t = await bounded(new Promise<number>((r) => cidWaiters.set(cid, r)), a.timeoutMs as number, `block ${cid} on ${node?.deviceID ?? raw?.peerId.toString()}`)
    cidWaiters.delete(cid)
    return t
  },
  /**
   * The gossip limit: Tandem's host alone (its key signing as Tandem's does, its gossipsub
   * settings), following one topic; a message's first 8 bytes name it, and its arrival is recorded
   * as an edit's block is.
   */
  async rawStart() {
    raw = await createHost({ privateKey: identityFromKey(await generateKeyPair('Ed25519')).privateKey, listen: [LOOPBACK], mdns: false, isMember: () => true })
    raw.services.pubsub.subscribe(RAW_TOPIC)
    raw.services.pubsub.addEventListener('gossipsub:message', (evt) => {
      if (!recording) return
      const t = now()
      const id = Buffer.from(evt.detail.msg.data.subarray(0, 8)).toString('hex')
      arrivals.set(id, t)
      cidWaiters.get(id)?.(t)
    })
    return { deviceID: raw.peerId.toString(), addrs: raw.getMultiaddrs().map((a) => a.toString()) }
  },
  /**
   * The bare catch-up: Tandem's host alone (as the gossip limit's) with the key of the holder whose
   * data directory is `dir`, so that the fresh device knows it as that group device; no database,
   * no Tandem protocol (a device asking for any is refused at once), no topic followed.
   */
  async rawStartAs(a) {
    const identity = await loadOrCreateIdentity(a.dir as string)
    raw = await createHost({ privateKey: identity.privateKey, listen: [LOOPBACK], mdns: false, isMember: () => true })
    return { deviceID: raw.peerId.toString(), addrs: raw.getMultiaddrs().map((m) => m.toString()) }
  },
  async rawDial(a) {
    if (raw === null) throw new Error('rawStart first')
    for (const addr of a.addrs as string[]) await raw.dial(multiaddr(addr))
    return null
  },
  /**
   * The streams limit: the same host takes a protocol of its own whose inbound streams stay open,
   * each message (one length-prefixed dag-cbor map, as Tandem's protocols frame them) recorded on
   * arrival as the gossip limit's are. No gossipsub on the path: the least any protocol over this
   * stack (TCP, Noise, Yamux) does to bring one message to each connected device.
   */
  async streamsHandle() {
    if (raw === null) throw new Error('rawStart first')
    await raw.handle(STREAMS_PROTOCOL, async (stream: Stream) => {
      const ch = new Channel(stream, { maxMessageBytes: 1 << 20 })
      for (;;) {
        let m: { d: Uint8Array }
        try { m = await ch.recv(StreamsMessage) } catch { return }
        if (!recording) continue
        const t = now()
        const id = Buffer.from(m.d.subarray(0, 8)).toString('hex')
        arrivals.set(id, t)
        cidWaiters.get(id)?.(t)
      }
    }, { runOnLimitedConnection: true })
    return null
  },
  /** Opens one stream of the streams limit to every connected device, kept for the messages that follow. */
  async streamsOpen() {
    if (raw === null) throw new Error('rawStart first')
    streams = await Promise.all(raw.getPeers().map(async (peer) => new Channel(await raw!.dialProtocol(peer, STREAMS_PROTOCOL), { maxMessageBytes: 1 << 20 })))
    return streams.length
  },
  /** One message of the streams limit to every device at once, as an edit: returns when it started and ended here and its name. */
  async streamsSend(a) {
    const data = new Uint8Array(RAW_BYTES)
    new DataView(data.buffer).setBigUint64(0, BigInt(a.i as number))
    const t0 = now()
    await Promise.all(streams.map((ch) => ch.send({ d: data })))
    return { t0, t1: now(), cid: Buffer.from(data.subarray(0, 8)).toString('hex') }
  },
  /** How many devices this one knows to follow the topic. */
  rawSubscribers() {
    return raw?.services.pubsub.getSubscribers(RAW_TOPIC).length ?? 0
  },
  /** One message, as an edit: returns when it started and ended here and its name. */
  async rawPublish(a) {
    if (raw === null) throw new Error('rawStart first')
    const data = new Uint8Array(RAW_BYTES)
    new DataView(data.buffer).setBigUint64(0, BigInt(a.i as number))
    const t0 = now()
    await raw.services.pubsub.publish(RAW_TOPIC, data)
    return { t0, t1: now(), cid: Buffer.from(data.subarray(0, 8)).toString('hex') }
  },
  /** Catch-up phase: count distinct documents changed from remote from now on. */
  countDocs(a) {
    counting = { seen: new Set(), target: a.n as number, resolve: null, lastT: 0, tenths: [] }
    return null
  },
  /** When the `n`-th distinct document (since countDocs) arrived; waits, bounded. */
  async docsArrived(a) {
    const c = counting
    if (c === null) throw new Error('countDocs first')
    if (c.seen.size < c.target) {
      await bounded(new Promise<number>((r) => { c.resolve = r }), a.timeoutMs as number, `${c.target} documents on ${the().deviceID} (${c.seen.size} arrived)`)
    }
    return { t: c.lastT, seen: c.seen.size, tenths: c.tenths }
  },
  docsSeen() {
    return counting?.seen.size ?? 0
  },
  /** A CPU profile of this process (--profile): start, then stop into `file`. */
  async profileStart() {
    session ??= new Session()
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 200 })
    await session.post('Profiler.start')
    return null
  },
  async profileStop(a) {
    if (session === null) return null
    const { profile } = await session.post('Profiler.stop')
    writeFileSync(a.file as string, JSON.stringify(profile))
    session.disconnect()
    session = null
    return a.file
  },
}

process.on('message', (msg: { id: number; cmd: string; args?: Args }) => {
  const fn = commands[msg.cmd]
  void (async () => {
    try {
      if (fn === undefined) throw new Error(`no command ${msg.cmd}`)
      const value = await fn(msg.args ?? {})
      process.send!({ id: msg.id, ok: true, value })
      if (msg.cmd === 'stop') process.disconnect?.()
    } catch (err) {
      process.send!({ id: msg.id, ok: false, error: (err as Error).stack ?? String(err) })
    }
  })()
})
// The parent went away: stop the node and leave (a libp2p timer left behind must not keep us up).
process.on('disconnect', () => {
  const bye = setTimeout(() => process.exit(0), 5_000)
  bye.unref()
  void (node?.stop() ?? Promise.resolve()).finally(() => process.exit(0))
})
process.send!({ ready: true })
