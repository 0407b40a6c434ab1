/**
 * A Tandem node: the database plus, unless started without the network, the libp2p host and the
 * sync protocols. When a group device connects, both sides run head exchange and pull what they
 * lack: that is how offline edits resync by themselves. Group devices are redialed at start and
 * after a drop, with capped exponential backoff.
 *
 * The node runs its parts as one ordered list (./services.ts): started in that order, stopped in
 * reverse, each one that started also stopped. With the network:
 *
 *   database → device events → host → connectivity watch → peer list → dag-sync → head-exchange →
 *   gossip → replicate → group-sync → pairing → nearby → replicators → redialer → links → anti-entropy
 *
 * The database and the host are open before the list starts (the services are built on them), so
 * their `start` does nothing; they are stopped last. "links" is the node's own wiring: it listens
 * to the host's connects and the group's changes, and dials the group and --peers.
 */
import { EventEmitter } from 'node:events'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { IdentifyResult, PeerId } from '@libp2p/interface'
import { Database, type DatabaseOptions } from '../db/database.ts'
import type { MassDeleteOptions } from '../db/held.ts'
import type { BlockCID, CollectionID, DeviceID, DocID, VersionID } from '../../shared/types.ts'
import type { NearbyDevice, PairingMode, PairingOutcome, PairingRequest, ReplicatorInfo, SyncReport } from '../../shared/api/types.ts'
import { DagSync } from '../net/dag-sync/dag-sync.ts'
import { FETCH_CHUNK_CIDS, FETCH_PROBE_CIDS, FETCHES_IN_FLIGHT } from '../net/dag-sync/constants.ts'
import { FetchPlan } from './fetch-plan.ts'
import { HeadExchange, type RemoteHeads } from '../net/head-exchange/head-exchange.ts'
import { SchemaSync } from '../net/schema-sync/schema-sync.ts'
import { Gossip } from '../net/gossip.ts'
import { Group } from '../net/group.ts'
import { checkMultiaddr, createHost, type Host, type HostOptions } from '../net/host.ts'
import { PeerList } from '../net/peer-list.ts'
import type { PeerInfo } from '../net/paths.ts'
import { Redialer } from '../net/redialer.ts'
import { checkDeviceID, deviceIDOf } from '../net/device-id.ts'
import { createLogger, reason, silentLogger, type LogSink, type Logger } from '../net/logger.ts'
import { ReplicateServer } from '../net/replicate/protocol.ts'
import { GroupSync } from '../net/group-sync/group-sync.ts'
import { Pairing, type InviteInfo } from '../net/pairing/pairing.ts'
import type { DeviceRecord } from '../net/group.ts'
import { TandemError } from '../../shared/errors.ts'
import { Replicators } from '../net/replicate/replicators.ts'
import { Nearby } from '../net/nearby/nearby.ts'
import { ConnectivityWatch } from './connectivity-watch.ts'
import { doctorReport, type DoctorOptions, type DoctorSubject } from './doctor.ts'
import { AntiEntropy, DEFAULT_ANTI_ENTROPY_MS } from '../net/anti-entropy.ts'
import { SyncStatus } from './sync-status.ts'
import { Services, type Service } from './services.ts'
import type { SyncStatusReport } from '../../shared/api/sync-status.ts'
import type { DoctorReport } from '../../shared/api/doctor.ts'

/** A dial the node makes (a --peers address, a redial) gives up after this long; libp2p's own per-address timeout (6 s) is shorter. */
const DIAL_TIMEOUT_MS = 10_000
/** Redials of a group device that dropped or could not be reached: the first after half a second, then doubling up to a minute. */
const REDIAL_INITIAL_MS = 500
const REDIAL_MAX_MS = 60_000
/** Tries at telling a device it is being removed (a busy device may refuse one stream, its inbound stream limit), and the wait between them. */
const TELL_REMOVED_ATTEMPTS = 3
const TELL_REMOVED_RETRY_MS = 300
/** How long a removal waits to reach a device not connected at that moment. */
const TELL_REMOVED_DIAL_MS = 2_000
/** Group changes made within this long go to the connected devices in one group exchange. */
const GROUP_PUSH_DELAY_MS = 50
/** The peer-store tag of a connected group device: the connection manager prunes other connections first. */
const DEVICE_TAG = 'tandem-device'
/** How long after gossip reached nobody the connected devices are nudged: the mesh forms a moment after a connect or a rekey. */
const NUDGE_DELAY_MS = 1_000
/**
 * Two devices that learn of each other at once (a group formed, a new device introduced to every
 * other) both dialed, and each such pair kept two connections: two Noise handshakes, identifies
 * and gossipsub set-ups, twice the keep-alives, on both devices. Of a pair that learns of each
 * other, the device with the lower ID dials at once and the other waits this long first, dialing
 * only if no connection came meanwhile.
 */
const SECOND_DIALER_WAIT_MS = 1_000


/**
 * How long a sync fetching another one's plan waits for its next chunk before comparing on its
 * own: a device that is slow to answer must not hold up the others for long.
 */
const SHARED_PLAN_WAIT_MS = 5_000

/** Blocks a sync's fetches brought, and the first error of one that failed. */
interface Fetched { received: number; applied: number; rejected: number; error?: unknown }

export interface TandemNodeOptions {
  dataDir: string
  /** Run with no network at all (database only). */
  p2p?: boolean
  listen?: string[]
  /** Multiaddrs to dial at start. */
  peers?: string[]
  mdns?: boolean
  relayServer?: boolean
  relays?: string[]
  /** Relays and hole punching: STUN, WebRTC, announced addresses (see HostOptions). */
  network?: Pick<HostOptions, 'stunPort' | 'relayGroupOnly' | 'stunServers' | 'relayStunPort' | 'webrtc' | 'holePunch' | 'announce'>
  hotDocuments?: number
  /** How long a nearby pairing request stays open once shown (default and maximum 2 minutes). */
  pairingTtlMs?: number
  /** How long "Pair nearby" takes requests once opened (default and maximum 3 minutes). */
  pairingOpenMs?: number
  /** This device's name as other devices show it (default: the host name). */
  deviceName?: string
  /** Peers never to connect with (a partition in tests; a blocked device). */
  denyPeers?: (peer: string) => boolean
  /** Head exchange with every connected group device this often (ms; default 30 s, 0 = only on connect). */
  antiEntropyMs?: number
  /** The mass-delete guard's threshold and window (see main/db/held.ts); false turns it off. */
  massDelete?: MassDeleteOptions | false
  /** For tests only: store upgrade steps instead of the real ones (see DatabaseOptions.upgrades). */
  upgrades?: DatabaseOptions['upgrades']
  /** A store upgrade's progress while `start` runs it (a window shows it: main/api/starting.ts). */
  onUpgradeProgress?: DatabaseOptions['onUpgradeProgress']
  /**
   * Where the node's log goes: a Logger (../net/logger.ts), or a sink taking each line ("namespace:
   * message"; debug lines only with TANDEM_DEBUG=1). Default: nowhere. A store upgrade at start
   * reports its steps and progress here too.
   */
  log?: Logger | LogSink
}

interface NodeEvents {
  'peer:connect': [DeviceID]
  'peer:disconnect': [DeviceID]
  sync: [SyncReport]
  'sync:error': [{ peer: DeviceID; error: string }]
  replicator: [ReplicatorInfo]
  /** The list of nearby (mDNS-found, not paired) devices changed: read `nearby()`. */
  nearby: []
  /**
   * A request opened. Incoming: another device asks to pair — show the name it claims and ask for
   * the code it shows (`acceptPairing`/`declinePairing`). Outgoing: show `code` (`declinePairing` withdraws).
   */
  'pairing:request': [PairingRequest]
  'pairing:resolved': [{ id: string; outcome: PairingOutcome }]
  /** A pending request changed (a wrong code: fewer tries left). */
  'pairing:changed': [PairingRequest]
  /** "Pair nearby" opened or closed. */
  'pairing:mode': [PairingMode]
  /** A group device was added or removed (here or learned from another device). */
  device: [{ deviceID: DeviceID; removed: boolean }]
}

/** The node's network side, every part of it there: absent as a whole when the node runs without a network. */
interface Network {
  host: Host
  dagSync: DagSync
  heads: HeadExchange
  /** Schema versions (../net/schema-sync): before each head exchange, after a local update, for blocks that wait for one. */
  schemaSync: SchemaSync
  gossip: Gossip
  replicateServer: ReplicateServer
  groupSync: GroupSync
  pairing: Pairing
  nearby: Nearby
  replicators: Replicators
  peerList: PeerList
  /** Dial attempts, mDNS finds, observed addresses: what the connectivity doctor reads (./doctor.ts). */
  watch: ConnectivityWatch
  /** Redials group devices that dropped or could not be reached. */
  redialer: Redialer<DeviceID>
  /** Periodic head exchange with connected devices (../net/anti-entropy.ts). */
  antiEntropy: AntiEntropy
}

export class TandemNode extends EventEmitter<NodeEvents> {
  readonly db: Database
  readonly group: Group
  /** The node's log (no namespace): each part writes under its own (`log.forComponent('api')`). */
  readonly log: Logger
  /** Verified sync status per device and collection, from head exchanges (./sync-status.ts). */
  readonly syncStatus: SyncStatus
  readonly #net: Network | null
  readonly #services: Services
  readonly #log: Logger
  readonly #syncing = new Map<DeviceID, Promise<SyncReport>>()
  readonly #again = new Map<DeviceID, Promise<SyncReport>>()
  /**
   * What a sync in progress finds missing here (its fetch plan, growing as its heads arrive), for
   * the syncs with other devices that start meanwhile: they take its chunks and fetch them from
   * their own device, instead of each comparing every head first (a new device meeting four that
   * hold 100k documents ran four full head exchanges, then fetched everything four times).
   */
  #plan: FetchPlan | null = null
  /**
   * Per device just connected, the group exchange of that connect, until it is over: no block is
   * fetched from the device before (the exchange may introduce the devices whose blocks it holds,
   * which this one would refuse as strangers' until then), while the schema sync and the head
   * exchange run meanwhile.
   */
  readonly #agreeing = new Map<DeviceID, Promise<void>>()
  /** Undoes what `links` attached (its stop). */
  readonly #unlink: Array<() => void> = []
  #groupPush: NodeJS.Timeout | null = null
  /** Whether the pending group push asks the others to pull (see #pushGroupSoon). */
  #groupPushPull = false
  #syncAllTimer: NodeJS.Timeout | null = null
  #stopped = false
  #paused = false

  private constructor(db: Database, group: Group, host: Host | null, log: Logger, options: TandemNodeOptions) {
    super()
    this.db = db
    this.group = group
    this.log = log
    this.#log = log.forComponent('node')
    this.syncStatus = new SyncStatus({
      db, group, connected: () => this.connectedDevices(),
      outboxPending: (d) => this.#net?.replicators.state(d)?.pending ?? 0,
      antiEntropyMs: () => this.#net?.antiEntropy.periodMs ?? 0,
    })
    this.#net = host === null ? null : this.#network(host, options)
    const forwardDevice = (c: { deviceID: DeviceID; removed: boolean }): void => { this.emit('device', c) }
    const services: Service[] = [
      { name: 'database', service: { start: () => {}, stop: () => db.close() } },
      { name: 'device events', service: { start: () => { group.on('change', forwardDevice) }, stop: () => { group.off('change', forwardDevice) } } },
    ]
    const net = this.#net
    if (net !== null) {
      services.push(
        { name: 'host', service: net.host },
        { name: 'connectivity watch', service: net.watch },
        { name: 'peer list', service: net.peerList },
        { name: 'dag-sync', service: net.dagSync },
        { name: 'head-exchange', service: net.heads },
        { name: 'schema-sync', service: net.schemaSync },
        { name: 'gossip', service: net.gossip },
        { name: 'replicate', service: net.replicateServer },
        { name: 'group-sync', service: net.groupSync },
        { name: 'pairing', service: net.pairing },
        { name: 'nearby', service: net.nearby },
        { name: 'replicators', service: net.replicators },
        { name: 'redialer', service: net.redialer },
        { name: 'links', service: { start: () => this.#link(net, options.peers ?? []), stop: () => this.#unlinkAll() } },
        { name: 'anti-entropy', service: net.antiEntropy },
      )
    }
    this.#services = new Services(services, this.#log)
  }

  /** Builds the network side on `host` (nothing runs until the service list starts). */
  #network(host: Host, options: TandemNodeOptions): Network {
    const { db, group, log } = this
    const selfAddrs = (): string[] => this.addresses()
    const isMember = (peer: string): boolean => peer !== db.deviceID && group.has(peer)
    // Group sync, pairing and nearby still take a plain function and write their own prefixes.
    const groupSync = new GroupSync({ host, group }, {
      selfAddrs, log: log.info,
      onExchange: (peer) => {
        if (this.#stopped) return
        // The exchange itself went well; a sync that fails here is retried at the next one (or by anti-entropy).
        void this.syncWith(peer).catch((err: unknown) => this.#log.debug(`sync with ${peer} after a group exchange failed: ${reason(err)}`))
      },
      onServed: (peer) => { this.#net?.gossip.welcome(peer) },
    })
    const pairing = new Pairing({ host, group }, { selfAddrs, log: log.info })
    const nearby = new Nearby({ host, group, mdns: host.services.mdns }, { selfAddrs, log: log.info, isPaused: () => this.#paused, ttlMs: options.pairingTtlMs, openMs: options.pairingOpenMs })
    nearby.on('nearby', () => this.emit('nearby'))
    nearby.on('pairing:request', (r) => this.emit('pairing:request', r))
    nearby.on('pairing:resolved', (r) => this.emit('pairing:resolved', r))
    nearby.on('pairing:changed', (r) => this.emit('pairing:changed', r))
    nearby.on('pairing:mode', (m) => this.emit('pairing:mode', m))
    const dagSync = new DagSync({ db, host }, { isMember, log: log.forComponent('dag-sync') })
    const heads = new HeadExchange({ db, host }, { isMember, log: log.forComponent('head-exchange') })
    const schemaSync = new SchemaSync({ db, host }, { isMember, log: log.forComponent('schema-sync') })
    const gossip = new Gossip({
      db, pubsub: host.services.pubsub, group, hotDocuments: options.hotDocuments, log: log.forComponent('gossip'),
      onMissing: (peers, missing) => { void this.#fetchMissing(peers, missing) },
      onUndelivered: () => this.#syncAllSoon(),
    })
    const replicators = new Replicators({ db, host, group, heads }, { log: log.forComponent('replicators'), pulling: (peer) => dagSync.servingTo(peer) })
    replicators.on('state', (s) => this.emit('replicator', s))
    const replicateServer = new ReplicateServer({ db, host }, {
      isMember, log: log.forComponent('replicate'),
      onPending: (peer, pending) => { void this.#fetchAncestorsOf(peer, pending) },
    })
    const redialer = new Redialer<DeviceID>({
      initialMs: REDIAL_INITIAL_MS, maxMs: REDIAL_MAX_MS,
      dial: (deviceID) => this.#redial(host, deviceID),
      onError: (deviceID, err) => this.#log.info(`redial ${deviceID} failed: ${reason(err)}`),
    })
    const antiEntropy = new AntiEntropy({
      periodMs: options.antiEntropyMs ?? DEFAULT_ANTI_ENTROPY_MS, log: log.forComponent('anti-entropy'),
      peers: () => (this.#paused || this.#stopped ? [] : this.connectedDevices()),
      exchange: (peer) => this.syncWith(peer),
    })
    return {
      host, dagSync, heads, schemaSync, gossip, replicateServer, groupSync, pairing, nearby, replicators, redialer, antiEntropy,
      peerList: new PeerList({ host, devices: () => group.list(), bootstrap: options.peers, relays: options.relays }),
      watch: new ConnectivityWatch(host),
    }
  }

  static async start(options: TandemNodeOptions): Promise<TandemNode> {
    const log = options.log === undefined ? silentLogger : typeof options.log === 'function' ? createLogger(options.log) : options.log
    let group: Group | undefined
    let node: TandemNode | undefined
    const paused = (): boolean => node?.paused ?? false
    // Blocks from other devices are accepted only when written by a device of the group, or by a
    // former one and delivered by a member (history from before its removal: Group.trustsBlock).
    const db = await Database.open(options.dataDir, {
      isTrustedAuthor: (author, from) => group?.trustsBlock(author, from) ?? false,
      ...(options.massDelete !== undefined ? { massDelete: options.massDelete } : {}),
      ...(options.upgrades !== undefined ? { upgrades: options.upgrades } : {}),
      ...(options.onUpgradeProgress !== undefined ? { onUpgradeProgress: options.onUpgradeProgress } : {}),
      log: log.forComponent('store').info,
    })
    let host: Host | null = null
    try {
      group = await Group.load(db, options.deviceName)
      const g = group
      if (options.p2p !== false) {
        host = await createHost({
          privateKey: db.identity.privateKey,
          listen: options.listen,
          mdns: options.mdns,
          mdnsName: g.name,
          relayServer: options.relayServer,
          relays: options.relays,
          ...options.network,
          isMember: (peer) => g.has(peer),
          isPaused: () => paused(),
          isDenied: options.denyPeers,
        })
      }
      node = new TandemNode(db, g, host, log, options)
    } catch (err) {
      // Nothing of the node runs yet: close what was opened for it, then say what went wrong.
      try {
        await host?.stop()
      } catch (e) {
        log.forComponent('node').debug(`the host did not stop after a failed start: ${reason(e)}`)
      }
      await db.close()
      throw err
    }
    // A part that fails to start stops those started before it, the host and the database included.
    await node.#services.start()
    return node
  }

  get deviceID(): DeviceID {
    return this.db.deviceID
  }

  /** The libp2p host, or null without a network. */
  get host(): Host | null {
    return this.#net?.host ?? null
  }

  get dagSync(): DagSync | null {
    return this.#net?.dagSync ?? null
  }

  get heads(): HeadExchange | null {
    return this.#net?.heads ?? null
  }

  get gossip(): Gossip | null {
    return this.#net?.gossip ?? null
  }

  get replicators(): Replicators | null {
    return this.#net?.replicators ?? null
  }

  get pairing(): Pairing | null {
    return this.#net?.pairing ?? null
  }

  /** Periodic head exchange with connected devices (../net/anti-entropy.ts). */
  get antiEntropy(): AntiEntropy | null {
    return this.#net?.antiEntropy ?? null
  }

  /** The node's parts, in the order they start (they stop in reverse). */
  get services(): string[] {
    return this.#services.names
  }

  /** Addresses other devices can dial, with /p2p/<this device>. */
  addresses(): string[] {
    return this.#net?.host.getMultiaddrs().map((a) => a.toString()) ?? []
  }

  /** Every peer known: group devices, peers connected now, peers found nearby; with the true path of each. */
  peers(): PeerInfo[] {
    return this.#net?.peerList.list() ?? []
  }

  /** The connectivity doctor: per device how we know it, dial errors, path and rtt, our reachability, suggestions. */
  doctor(options: DoctorOptions = {}): Promise<DoctorReport> {
    const host = this.host
    const services = host?.services
    const subject: DoctorSubject = {
      deviceID: this.deviceID,
      network: host === null ? 'off' : this.#paused ? 'paused' : 'online',
      addresses: () => this.addresses(),
      peers: () => this.peers(),
      devices: () => this.group.list(),
      connections: (peer) => host?.getConnections(peerIdFromString(peer)) ?? [],
      relays: () => services?.relayKeeper?.status() ?? [],
      relayServer: services?.relay !== undefined,
      ping: async (peer, signal) => services === undefined ? null : await services.ping.ping(peerIdFromString(peer), { signal }),
    }
    return doctorReport(subject, this.#net?.watch ?? null, options)
  }

  /** Per group device and collection: verified in sync (equal head digests, when), or what differs. */
  syncStatusReport(): Promise<SyncStatusReport> {
    return this.syncStatus.report()
  }

  connectedDevices(): DeviceID[] {
    if (this.#net === null) return []
    const devices = new Set<DeviceID>()
    for (const c of this.#net.host.getConnections()) {
      const d = deviceIDOf(c.remotePeer)
      if (this.group.has(d)) devices.add(d)
    }
    return [...devices]
  }

  /** True while a head exchange + DAG sync with some device is running. */
  get syncing(): boolean {
    return this.#syncing.size > 0
  }

  /** True while the node is offline by choice (`pause`). */
  get paused(): boolean {
    return this.#paused
  }

  /** Goes offline: drops every connection and makes or accepts none until `resume`. Edits go on locally. */
  async pause(): Promise<void> {
    const net = this.#net
    if (net === null || this.#paused) return
    this.#paused = true
    net.nearby.close()
    net.redialer.stop()
    await Promise.allSettled(net.host.getConnections().map((c) => c.close()))
  }

  /** Back online: redials the group's devices; head exchange on connect catches both sides up. */
  resume(): void {
    const net = this.#net
    if (net === null || !this.#paused) return
    this.#paused = false
    kickRelays(net.host)
    if (this.#stopped) return
    net.redialer.start()
    for (const d of this.group.list()) net.redialer.now(d.deviceID)
  }

  /** A one-time invite (URI) for another device to join this group. */
  invite(options: { ttlMinutes?: number } = {}): InviteInfo {
    if (this.#net === null || this.#paused) throw new TandemError('NETWORK_OFF', 'The network is off: go online to invite a device.')
    return this.#net.pairing.createInvite(options)
  }

  /** Cancels an invite (by its id, its code or its URI). False when there is no such invite left. */
  cancelInvite(code: string): boolean {
    return this.#net?.pairing.cancel(code) ?? false
  }

  /** Devices found on the local network by mDNS that are not in the group. */
  nearby(): NearbyDevice[] {
    return this.#net?.nearby.list() ?? []
  }

  /**
   * Asks a nearby device to pair; resolves once it shows the request, with the code to show here.
   * Its person types that code on it (`acceptPairing` there); this side has nothing more to do.
   * A device that has not opened "Pair nearby" refuses (PAIRING_CLOSED).
   */
  async requestPairing(peerID: string): Promise<{ id: string; code: string }> {
    if (this.#net === null || this.#paused) throw new TandemError('NETWORK_OFF', 'The network is off: go online to pair.')
    return this.#net.nearby.request(peerID)
  }

  /** Whether this device takes nearby pairing requests now ("Pair nearby" open), and until when. */
  pairingMode(): PairingMode {
    return this.#net?.nearby.mode() ?? { open: false, until: null }
  }

  /** Opens "Pair nearby": takes incoming requests for 3 minutes from now. */
  openPairing(): PairingMode {
    if (this.#net === null || this.#paused) throw new TandemError('NETWORK_OFF', 'The network is off: go online to pair.')
    return this.#net.nearby.open()
  }

  /** Closes "Pair nearby": refuses requests from now on, and declines those still pending. */
  closePairing(): PairingMode {
    return this.#net?.nearby.close() ?? { open: false, until: null }
  }

  /** Pairing requests waiting for a decision, both ways. */
  pairingRequests(): PairingRequest[] {
    return this.#net?.nearby.requests() ?? []
  }

  /** An incoming request with the code its device shows: pairs when it is right (PAIRING_WRONG_CODE otherwise). */
  async acceptPairing(id: string, code: string): Promise<void> {
    if (this.#net === null) throw new TandemError('NOT_FOUND', 'There is no such pairing request.')
    await this.#net.nearby.accept(id, code)
  }

  /** Declines an incoming pairing request, or withdraws an outgoing one. */
  async declinePairing(id: string): Promise<void> {
    if (this.#net === null) throw new TandemError('NOT_FOUND', 'There is no such pairing request.')
    await this.#net.nearby.decline(id)
  }

  /** Joins the group of the device that made the invite (merging groups only with `mergeGroups`: see Pairing.join). */
  async join(uri: string, options: { mergeGroups?: boolean } = {}): Promise<DeviceRecord> {
    if (this.#net === null || this.#paused) throw new TandemError('NETWORK_OFF', 'The network is off: go online to join a group.')
    return this.#net.pairing.join(uri, options)
  }

  /**
   * Removes a device from the group: it is told (if reachable) and leaves; the others forget it;
   * the group secret is renewed so it cannot read what follows; it is refused from then on.
   */
  async removeDevice(deviceID: string): Promise<void> {
    const device = this.group.get(deviceID)
    if (device === undefined) throw new TandemError('NOT_FOUND', `No device ${deviceID} in this group.`)
    const id = device.deviceID
    // Told while still a member (afterwards it can reach none of our protocols). A busy device may
    // refuse one stream (its inbound stream limit) or answer late: try a few times.
    const net = this.#net
    const peer = peerIdFromString(id)
    if (net !== null && net.host.getConnections(peer).length === 0) {
      // Not connected this moment (between a drop and the redial): one short dial, so a device
      // that is online hears it now rather than never.
      await net.host.dial(peer, { signal: AbortSignal.timeout(TELL_REMOVED_DIAL_MS) })
        .catch((err: unknown) => this.#log.info(`could not reach ${id} to tell it it was removed: ${reason(err)}`))
    }
    for (let attempt = 1; net !== null && net.host.getConnections(peer).length > 0; attempt++) {
      try {
        await net.groupSync.tellRemoved(peer)
        break
      } catch (err) {
        this.#log.info(`could not tell ${id} it was removed (attempt ${attempt} of ${TELL_REMOVED_ATTEMPTS}): ${reason(err)}`)
        if (attempt >= TELL_REMOVED_ATTEMPTS) break
        await new Promise((r) => setTimeout(r, TELL_REMOVED_RETRY_MS))
      }
    }
    await this.group.remove(id)
    await this.group.rekey()
    this.#pushGroupSoon(true)
  }

  /**
   * Gossip reached nobody although devices may be connected (the mesh forms a moment after a
   * connect or a rekey): shortly, nudge each of them with a group exchange, after which they pull
   * from us (head exchange) — so the change is not left waiting for the next reconnect.
   */
  #syncAllSoon(): void {
    const net = this.#net
    if (net === null || this.#syncAllTimer !== null || this.#stopped) return
    this.#syncAllTimer = setTimeout(() => {
      this.#syncAllTimer = null
      for (const d of this.connectedDevices()) {
        void net.groupSync.exchange(peerIdFromString(d)).catch((err: Error) => this.#log.info(`nudge ${d} failed: ${err.message}`))
      }
    }, NUDGE_DELAY_MS)
    this.#syncAllTimer.unref()
  }

  /**
   * Sends the group state to every connected group device (soon: several changes go as one).
   * `pull`: they pull this device's data right after (a removal: the new secret renames the
   * gossip topics, and what was published meanwhile may not have reached them). A new device
   * alone changes no data: the others are not asked to pull (each of them pulling from each
   * other was N × (N − 1) head exchanges for one new device).
   */
  #pushGroupSoon(pull: boolean): void {
    const net = this.#net
    if (net === null || this.#stopped) return
    this.#groupPushPull ||= pull
    if (this.#groupPush !== null) return
    this.#groupPush = setTimeout(() => {
      this.#groupPush = null
      const withPull = this.#groupPushPull
      this.#groupPushPull = false
      for (const d of this.connectedDevices()) {
        void net.groupSync.exchange(peerIdFromString(d), { pull: withPull }).catch((err: Error) => this.#log.info(`group sync with ${d} failed: ${err.message}`))
      }
    }, GROUP_PUSH_DELAY_MS)
    this.#groupPush.unref()
  }

  /** Dials a multiaddr (/…/p2p/<peer ID>). */
  async dial(addr: string): Promise<DeviceID> {
    if (this.#net === null) throw new TandemError('NETWORK_OFF', 'The network is off (--no-p2p): there is nothing to dial with.')
    const conn = await this.#net.host.dial(multiaddr(checkMultiaddr(addr)), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
    return deviceIDOf(conn.remotePeer)
  }

  /**
   * Head exchange with a connected group device, then DAG sync of every block it has that we lack.
   * Concurrent calls for the same peer share one run; a call made while one runs gets the next one
   * (shared by every call made meanwhile), so its check follows whatever made the caller ask.
   */
  syncWith(peerID: string, collections?: CollectionID[]): Promise<SyncReport> {
    let peer: DeviceID
    try {
      peer = checkDeviceID(peerID)
    } catch (err) {
      return Promise.reject(err)
    }
    const running = this.#syncing.get(peer)
    if (running !== undefined) {
      // The running one may have compared heads before the caller's reason to sync (a write just
      // now): the caller gets the one that runs after it, shared by everyone who asks meanwhile.
      let next = this.#again.get(peer)
      if (next === undefined) {
        // Whatever the running one ends in, its callers hear it; this one only waits for it to end.
        next = running.catch(() => {}).then(() => {
          this.#again.delete(peer)
          return this.#stopped ? running : this.syncWith(peer)
        })
        // Its callers hear how it ends; this keeps a run nobody awaits (fire and forget) from ending the process.
        next.catch(() => {})
        this.#again.set(peer, next)
      }
      return next
    }
    const run = this.#sync(peer, collections).finally(() => { this.#syncing.delete(peer) })
    this.#syncing.set(peer, run)
    return run
  }

  async #sync(peerID: DeviceID, collections?: CollectionID[]): Promise<SyncReport> {
    const net = this.#net
    if (net === null) throw new TandemError('NETWORK_OFF', 'The network is off (--no-p2p): there is nothing to sync with.')
    const peer = peerIdFromString(peerID)
    // Collections kept only in part (single documents replicated here) are not pulled whole.
    const scope = collections ?? (await this.db.listCollections()).filter((c) => c.partial !== true).map((c) => c.id)
    // Schema versions before any block, so the blocks this sync brings find theirs here. The head
    // exchange needs none of them: it runs meanwhile, and the fetches wait (#fetchPlanned).
    const schemas = net.schemaSync.exchange(peer).then(() => {}, (err: unknown) => this.#log.info(`schema sync with ${peerID} failed: ${reason(err)}`))
    const scopeKey = [...scope].sort().join(',')
    let before: Fetched = { received: 0, applied: 0, rejected: 0 }
    const running = this.#plan
    if (running !== null && running.scope === scopeKey) {
      // Another sync is finding what is missing here: fetch its chunks from this device too (each
      // chunk from whichever device's sync takes it first, fetch-plan.ts), as long as any is left
      // to take; the comparison below finds what is left.
      before = await this.#fetchPlanned(net, peer, peerID, running, schemas, SHARED_PLAN_WAIT_MS)
      // Compared while its last chunks still arrive, this device would send the heads of what they
      // bring once more; compared after, it sends none.
      if (running.ended) await running.settled()
    }
    const plan = new FetchPlan(scopeKey, FETCH_CHUNK_CIDS, { probeCIDs: FETCH_PROBE_CIDS })
    const shared = this.#plan === null
    if (shared) this.#plan = plan
    try {
      return await this.#compareAndFetch(net, peer, peerID, scope, before, plan, schemas)
    } finally {
      plan.end()
      if (shared && this.#plan === plan) this.#plan = null
    }
  }

  /**
   * Takes chunks of `plan` and fetches them from `peer`, two requests at a time, until the plan is
   * over (or, for another sync's plan, nothing came for `waitMs`: a device slow to answer does not
   * hold this one up). A chunk whose fetch failed goes back to the plan, for another device. The
   * first fetch waits for the group exchange with `peer` and for `ready` (the schema sync).
   */
  async #fetchPlanned(net: Network, peer: PeerId, peerID: DeviceID, plan: FetchPlan, ready: Promise<void>, waitMs?: number): Promise<Fetched> {
    const got: Fetched = { received: 0, applied: 0, rejected: 0 }
    await this.#agreeing.get(peerID)
    await ready
    const lane = async (): Promise<void> => {
      for (;;) {
        const chunk = await plan.take(peerID, waitMs)
        if (chunk === null) return
        if (this.#stopped) { plan.giveBack(peerID, chunk); return }
        try {
          const r = await net.dagSync.fetch(peer, chunk.want, chunk.have, { planned: true })
          // What this device lacks goes back to the plan, for another device that may have it.
          plan.lacking(peerID, chunk, r.missing)
          plan.fetched(peerID, { ...r, asked: chunk.want.length })
          got.received += r.received
          got.applied += r.applied
          got.rejected += r.rejected
        } catch (err) {
          plan.giveBack(peerID, chunk)
          this.#log.info(`fetching planned blocks from ${peerID} failed: ${reason(err)}`)
          got.error ??= err
          return
        }
      }
    }
    await Promise.all(Array.from({ length: FETCHES_IN_FLIGHT }, async () => {
      plan.enter(peerID)
      try { await lane() } finally { plan.leave(peerID) }
    }))
    return got
  }

  async #compareAndFetch(net: Network, peer: PeerId, peerID: DeviceID, scope: CollectionID[], before: Fetched, plan: FetchPlan, schemas: Promise<void>): Promise<SyncReport> {
    const localDigests = await this.db.collectionDigests()
    const report: SyncReport = { peer: peerID, collections: 0, differingDocs: 0, fetched: before.received, applied: before.applied, rejected: before.rejected }
    // The fetch starts with the first planned chunk, while the rest of the heads still arrive.
    const fetching = this.#fetchPlanned(net, peer, peerID, plan, schemas)
    // Each frame of heads is planned as it comes, one after another: what is lacking here, and the
    // heads held here of those documents, where the peer's walk stops (Database.headsToFetch).
    let planning: Promise<void> = Promise.resolve()
    let planFailed: { err: unknown } | null = null
    const planDocs = async (collection: CollectionID, docs: Array<{ docID: DocID; heads: BlockCID[] }>): Promise<void> => {
      const lackingDocs = (await this.db.headsToFetch(collection, docs)).filter((d) => d.lacking.length > 0)
      if (lackingDocs.length === 0) return
      report.differingDocs += lackingDocs.length
      plan.add(lackingDocs.flatMap((d) => d.lacking), lackingDocs.flatMap((d) => d.ours))
    }
    // Adds a fetch's blocks to the report; its error, if it failed.
    const count = (r: Fetched): unknown => {
      report.fetched += r.received
      report.applied += r.applied
      report.rejected += r.rejected
      return r.error
    }
    let remote: RemoteHeads
    try {
      remote = await net.heads.compare(peer, scope, (collection, docs) => {
        planning = planning.then(() => planDocs(collection, docs)).catch((err: unknown) => { planFailed ??= { err } })
      })
      await planning
      if (planFailed !== null) throw (planFailed as { err: unknown }).err
    } catch (err) {
      // What was planned is fetched either way; a failed comparison is reported once it has been.
      plan.end()
      count(await fetching)
      throw err
    }
    plan.end()
    report.collections = remote.compared
    // The status shows what differs while it is being fetched.
    await this.syncStatus.record(peerID, scope, remote, localDigests)
    // A fetch from this device that failed fails the sync, as a failed comparison does (what it
    // had taken is left in the plan, for a sync with another device to take).
    const failed = count(await fetching)
    if (failed !== undefined) throw failed
    if (plan.planned > 0) {
      // Chunks that syncs with other devices took may still be arriving: the plan is over (and
      // this.#plan cleared, so that the next sync compares afresh) once they have. A chunk one of
      // them gave back is fetched here. A sync that planned anew meanwhile would ask again for
      // what they were bringing.
      await plan.settled()
      const restFailed = count(await this.#fetchPlanned(net, peer, peerID, plan, schemas))
      if (restFailed !== undefined) throw restFailed
      // Verify right away (digests first: cheap when now equal) rather than at the next period.
      const after = await this.db.collectionDigests()
      try {
        await this.syncStatus.record(peerID, scope, await net.heads.compare(peer, scope), after)
      } catch (err) {
        this.#log.info(`re-check with ${peerID} failed: ${reason(err)}`)
      }
    }
    this.emit('sync', report)
    return report
  }

  /** Learns schema versions blocks here wait for: from the device that sent them, else from any connected device. */
  async #fetchVersions(net: Network, versions: VersionID[], from: DeviceID | undefined): Promise<void> {
    const candidates = [...new Set([...(from === undefined ? [] : [from]), ...this.connectedDevices()])]
    for (const d of candidates) {
      if (this.#stopped || versions.every((v) => this.db.versionCollection(v) !== undefined)) return
      const peer = peerIdFromString(d)
      if (net.host.getConnections(peer).length === 0) continue
      try {
        await net.schemaSync.exchange(peer, undefined, versions.filter((v) => this.db.versionCollection(v) === undefined))
      } catch (err) {
        this.#log.info(`fetching schema versions from ${d} failed: ${reason(err)}`)
      }
    }
  }

  /** Fetches what pending blocks (received from `peer`) still wait for. */
  async #fetchAncestorsOf(peer: PeerId, pending: string[]): Promise<void> {
    const missing = await this.db.missingParentsOf(pending)
    if (missing.length > 0) await this.#fetchMissing([peer], missing)
  }

  async #fetchMissing(peers: PeerId[], missing: string[]): Promise<void> {
    const net = this.#net
    if (net === null) return
    const candidates = [...peers, ...this.connectedDevices().map((d) => peerIdFromString(d))]
    for (const peer of candidates) {
      if (this.#stopped) return
      if (net.host.getConnections(peer).length === 0) continue
      try {
        const r = await net.dagSync.fetch(peer, missing)
        if (r.missing.length === 0) return
      } catch (err) {
        this.#log.info(`fetching missing ancestors from ${peer} failed: ${reason(err)}`)
      }
    }
  }

  /** The node's wiring ("links" in the service list): follows connects and group changes, and dials the group and `peers`. */
  #link(net: Network, peers: string[]): void {
    const { host, redialer } = net
    const onConnect = (evt: CustomEvent<PeerId>): void => this.#onConnect(net, deviceIDOf(evt.detail))
    const onDisconnect = (evt: CustomEvent<PeerId>): void => this.#onDisconnect(net, deviceIDOf(evt.detail))
    const onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
      const peer = deviceIDOf(evt.detail.peerId)
      if (this.#stopped || !this.group.has(peer) || peer === this.deviceID) return
      const listen = evt.detail.listenAddrs.map((a) => a.toString())
      if (listen.length > 0) void this.group.seen(peer, listen).catch((err: unknown) => this.#log.debug(`the listen addresses of ${peer} were not recorded: ${reason(err)}`))
    }
    const onGroupChange = ({ deviceID, removed }: { deviceID: DeviceID; removed: boolean }): void => {
      // A relay of ours may have refused us a slot until we became one group.
      kickRelays(host)
      this.#pushGroupSoon(removed) // introduce new devices to the others, and spread removals
      if (removed) {
        redialer.cancel(deviceID)
        void host.peerStore.merge(peerIdFromString(deviceID), { tags: { [DEVICE_TAG]: undefined } }).catch(() => {}) // unknown to the store: nothing to untag
        void host.hangUp(peerIdFromString(deviceID)).catch((err: unknown) => this.#log.debug(`hanging up on removed ${deviceID} failed: ${reason(err)}`))
      } else if (host.getConnections(peerIdFromString(deviceID)).length === 0) {
        const first = this.deviceID < deviceID
        const addrs = this.group.get(deviceID)?.addrs ?? []
        if (!first && addrs.length > 0) {
          // Waiting to dial, its addresses are known to libp2p at once (the dial records them too):
          // a protocol opened meanwhile (a sync asked for) finds them.
          void host.peerStore.merge(peerIdFromString(deviceID), { multiaddrs: addrs.map((a) => multiaddr(a)) })
            .catch((err: unknown) => this.#log.debug(`the addresses of ${deviceID} were not recorded: ${reason(err)}`))
        }
        redialer.schedule(deviceID, first ? 0 : SECOND_DIALER_WAIT_MS)
      } else {
        // Became a member while connected: its gossip was a stranger's until now (Gossip.welcome); sync now.
        net.gossip.welcome(deviceID)
        this.#onConnect(net, deviceID)
      }
    }
    // A local schema change goes to every connected device; a block written under a version not
    // known here waits for it, fetched from the device that delivered it (else any connected one).
    const onVersions = (): void => {
      if (this.#stopped || this.#paused) return
      for (const d of this.connectedDevices()) {
        void net.schemaSync.exchange(peerIdFromString(d)).catch((err: unknown) => this.#log.info(`schema sync with ${d} failed: ${reason(err)}`))
      }
    }
    const onVersionsMissing = ({ versions, from }: { versions: VersionID[]; from: DeviceID | undefined }): void => { void this.#fetchVersions(net, versions, from) }
    this.db.on('versions', onVersions)
    this.db.on('versions-missing', onVersionsMissing)
    host.addEventListener('peer:connect', onConnect)
    host.addEventListener('peer:identify', onIdentify)
    host.addEventListener('peer:disconnect', onDisconnect)
    this.group.on('change', onGroupChange)
    this.#unlink.push(
      () => this.db.off('versions', onVersions),
      () => this.db.off('versions-missing', onVersionsMissing),
      () => host.removeEventListener('peer:connect', onConnect),
      () => host.removeEventListener('peer:identify', onIdentify),
      () => host.removeEventListener('peer:disconnect', onDisconnect),
      () => this.group.off('change', onGroupChange),
    )
    for (const addr of peers) {
      void this.dial(addr).catch((err: Error) => this.#log.info(`could not dial ${addr}: ${err.message}`))
    }
    for (const d of this.group.list()) redialer.schedule(d.deviceID, 0)
  }

  /** Undoes `#link`, drops the pending group push and nudge, and waits for the syncs running. */
  async #unlinkAll(): Promise<void> {
    for (const off of this.#unlink.splice(0)) off()
    if (this.#groupPush !== null) clearTimeout(this.#groupPush)
    if (this.#syncAllTimer !== null) clearTimeout(this.#syncAllTimer)
    this.#groupPush = null
    this.#groupPushPull = false
    this.#syncAllTimer = null
    await Promise.allSettled([...this.#syncing.values()])
  }

  #onConnect(net: Network, peer: DeviceID): void {
    if (this.#stopped || peer === this.deviceID) return
    if (!this.group.has(peer)) {
      if (this.group.wasMember(peer)) this.#tellFormer(net, peer)
      return
    }
    net.redialer.cancel(peer)
    // Only addresses we dialed are worth redialing: an inbound connection's remote address carries
    // the other side's ephemeral source port. Its listen addresses arrive by identify (#link).
    const addrs = net.host.getConnections(peerIdFromString(peer))
      .filter((c) => c.direction === 'outbound').map((c) => c.remoteAddr.toString())
    void this.group.seen(peer, addrs).catch((err: unknown) => this.#log.debug(`the addresses of ${peer} were not recorded: ${reason(err)}`))
    // A group device is the last connection libp2p prunes at its limit (gossipsub's per-topic mesh tags are off: ../net/host.ts).
    void net.host.peerStore.merge(peerIdFromString(peer), { tags: { [DEVICE_TAG]: { value: 100 } } })
      .catch((err: unknown) => this.#log.debug(`${peer} was not tagged: ${reason(err)}`))
    this.emit('peer:connect', peer)
    // Agree on the group (devices, secret) and on the data. Both devices pull on connect, so the
    // group exchange asks the other for no extra pull (which made it sync twice). The sync's schema
    // sync and head exchange run while it does (it took 100–350 ms of a connect here, before the
    // first heads were asked for); its fetches wait for it (#agreeing).
    const agreed = net.groupSync.exchange(peerIdFromString(peer), { pull: false })
      .catch((err: Error) => this.#log.info(`group sync with ${peer} failed: ${err.message}`))
      .finally(() => { if (this.#agreeing.get(peer) === agreed) this.#agreeing.delete(peer) })
    this.#agreeing.set(peer, agreed)
    this.syncWith(peer).catch((err: Error) => {
      this.#log.info(`sync with ${peer} failed: ${err.message}`)
      this.emit('sync:error', { peer, error: err.message })
    })
  }

  /**
   * A device removed from the group (here or on another device) while it was away has come back,
   * still counting itself a member: it is told, as `removeDevice` tells one that is online, so it
   * leaves the group instead of dialing devices that no longer answer it.
   */
  #tellFormer(net: Network, peer: DeviceID): void {
    const id = peerIdFromString(peer)
    net.groupSync.tellRemoved(id)
      .then(() => this.#log.info(`told ${peer}, which had been removed, that it was`))
      .catch((err: unknown) => this.#log.debug(`could not tell ${peer} it had been removed: ${reason(err)}`))
      .finally(() => { void net.host.hangUp(id).catch(() => {}) })
  }

  #onDisconnect(net: Network, peer: DeviceID): void {
    if (this.#stopped || !this.group.has(peer) || peer === this.deviceID) return
    this.emit('peer:disconnect', peer)
    if (this.#paused) return
    net.redialer.retry(peer)
  }

  /** One redial of a group device (the redialer's: a throw makes it try again after a longer wait). */
  async #redial(host: Host, deviceID: DeviceID): Promise<void> {
    const device = this.group.get(deviceID)
    if (this.#stopped || device === undefined) return
    const peer = peerIdFromString(deviceID)
    if (host.getConnections(peer).length > 0) return
    if (device.addrs.length > 0) await host.peerStore.merge(peer, { multiaddrs: device.addrs.map((a) => multiaddr(a)) })
    await host.dial(peer, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
  }

  /** Stops every part of the node, in reverse start order (./services.ts), the database last. */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    await this.#services.stop()
  }
}

/** Asks the relay keeper (../net/relays.ts) to reconnect and ask for slots now, when the host runs one. */
function kickRelays(host: Host): void {
  host.services.relayKeeper?.kick()
}
