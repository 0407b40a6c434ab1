/**
 * A Tandem node: the database plus, unless started without the network, the libp2p host and the
 * sync protocols. When a group device connects, both sides run head exchange and pull what they
 * lack: that is how offline edits resync by themselves. Group devices are redialed at start and
 * after a drop, with capped exponential backoff.
 */
import { EventEmitter } from 'node:events'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import { Database, type DatabaseOptions } from '../db/database.ts'
import type { MassDeleteOptions } from '../db/held.ts'
import type { CollectionID, DeviceID } from '../../shared/types.ts'
import { DagSync } from '../net/dag-sync/dag-sync.ts'
import { HeadExchange } from '../net/head-exchange/head-exchange.ts'
import { Gossip } from '../net/gossip.ts'
import { Group } from '../net/group.ts'
import { checkMultiaddr, createHost, type Host, type HostOptions } from '../net/host.ts'
import { PeerList } from '../net/peer-list.ts'
import type { PeerInfo } from '../net/paths.ts'
import { Backoff } from '../net/backoff.ts'
import { ReplicateServer } from '../net/replicate/protocol.ts'
import { GroupSync } from '../net/group-sync/group-sync.ts'
import { Pairing, type InviteInfo } from '../net/pairing/pairing.ts'
import type { DeviceRecord } from '../net/group.ts'
import { TandemError } from '../../shared/errors.ts'
import { Replicators, type ReplicatorState } from '../net/replicate/replicators.ts'
import { Nearby, type NearbyDevice, type Outcome as PairingOutcome, type PairingMode, type PairingRequest } from '../net/nearby/nearby.ts'
import { ConnectivityWatch } from './connectivity-watch.ts'
import { doctorReport, type DoctorOptions, type DoctorSubject } from './doctor.ts'
import type { RelayStatus } from '../net/relays.ts'
import { AntiEntropy, DEFAULT_ANTI_ENTROPY_MS } from '../net/anti-entropy.ts'
import { SyncStatus } from './sync-status.ts'
import type { SyncStatusReport } from '../../shared/api/sync-status.ts'
import type { DoctorReport } from '../../shared/api/doctor.ts'

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
  /** The node's log; a store upgrade at start reports its steps and progress here too. */
  log?: (msg: string) => void
}

export interface SyncReport {
  peer: DeviceID
  collections: number
  differingDocs: number
  fetched: number
  applied: number
  rejected: number
}

interface NodeEvents {
  'peer:connect': [DeviceID]
  'peer:disconnect': [DeviceID]
  sync: [SyncReport]
  'sync:error': [{ peer: DeviceID; error: string }]
  replicator: [ReplicatorState]
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

export class TandemNode extends EventEmitter<NodeEvents> {
  readonly db: Database
  readonly group: Group
  readonly host: Host | null
  readonly dagSync: DagSync | null
  readonly heads: HeadExchange | null
  readonly gossip: Gossip | null
  readonly replicators: Replicators | null
  readonly pairing: Pairing | null
  readonly #groupSync: GroupSync | null
  readonly #replicateServer: ReplicateServer | null
  readonly #nearby: Nearby | null
  #peerList: PeerList | null = null
  /** Dial attempts, mDNS finds, observed addresses: what the connectivity doctor reads (./doctor.ts). */
  #watch: ConnectivityWatch | null = null
  #groupPush: NodeJS.Timeout | null = null
  #syncAllTimer: NodeJS.Timeout | null = null
  /** Periodic head exchange with connected devices (../net/anti-entropy.ts). */
  antiEntropy: AntiEntropy | null = null
  /** Verified sync status per device and collection, from head exchanges (./sync-status.ts). */
  readonly syncStatus: SyncStatus
  readonly #log: (msg: string) => void
  readonly #syncing = new Map<string, Promise<SyncReport>>()
  readonly #again = new Map<string, Promise<SyncReport>>()
  readonly #backoff = new Backoff({ initialMs: 500, maxMs: 60_000 })
  readonly #dialTimers = new Map<string, NodeJS.Timeout>()
  #stopped = false
  #paused = false

  private constructor(db: Database, group: Group, host: Host | null, log: (msg: string) => void, hotDocuments?: number, pairing: { ttlMs?: number; openMs?: number } = {}) {
    super()
    this.db = db
    this.group = group
    this.host = host
    this.#log = log
    group.on('change', (c) => this.emit('device', c))
    this.syncStatus = new SyncStatus({
      db, group, connected: () => this.connectedDevices(),
      outboxPending: (d) => this.replicators?.state(d)?.pending ?? 0,
      antiEntropyMs: () => this.antiEntropy?.periodMs ?? 0,
    })
    if (host === null) {
      this.#nearby = null
      this.dagSync = null
      this.heads = null
      this.gossip = null
      this.replicators = null
      this.pairing = null
      this.#groupSync = null
      this.#replicateServer = null
      return
    }
    const selfAddrs = (): string[] => this.addresses()
    this.#groupSync = new GroupSync({
      host, group, selfAddrs, log,
      onExchange: (peer) => { if (!this.#stopped) void this.syncWith(peer).catch(() => {}) },
    })
    this.pairing = new Pairing({ host, group, selfAddrs, log })
    this.#nearby = new Nearby({ host, group, selfAddrs, log, isPaused: () => this.#paused, ttlMs: pairing.ttlMs, openMs: pairing.openMs })
    this.#nearby.on('nearby', () => this.emit('nearby'))
    this.#nearby.on('pairing:request', (r) => this.emit('pairing:request', r))
    this.#nearby.on('pairing:resolved', (r) => this.emit('pairing:resolved', r))
    this.#nearby.on('pairing:changed', (r) => this.emit('pairing:changed', r))
    this.#nearby.on('pairing:mode', (m) => this.emit('pairing:mode', m))
    const isMember = (peer: string): boolean => peer !== db.deviceID && group.has(peer)
    this.dagSync = new DagSync({ db, host }, { isMember, log })
    this.heads = new HeadExchange({ db, host }, { isMember, log })
    this.gossip = new Gossip({
      db, pubsub: host.services.pubsub, group, hotDocuments, log,
      onMissing: (peers, missing) => { void this.#fetchMissing(peers, missing) },
      onUndelivered: () => this.#syncAllSoon(),
    })
    const dagSync = this.dagSync
    this.replicators = new Replicators({ db, host, group, heads: this.heads, log, pulling: (peer) => dagSync.servingTo(peer) })
    this.replicators.on('state', (s) => this.emit('replicator', s))
    this.#replicateServer = new ReplicateServer({ db, host }, {
      isMember, log,
      onPending: (peer, pending) => { void this.#fetchAncestorsOf(peer, pending) },
    })
  }

  static async start(options: TandemNodeOptions): Promise<TandemNode> {
    const log = options.log ?? (() => {})
    let group: Group | undefined
    let node: TandemNode | undefined
    const paused = (): boolean => node?.paused ?? false
    // Blocks from other devices are accepted only when written by a device of the group, or by a
    // former one and delivered by a member (history from before its removal: Group.trustsBlock).
    const db = await Database.open(options.dataDir, {
      isTrustedAuthor: (author, from) => group?.trustsBlock(author, from) ?? false,
      ...(options.massDelete !== undefined ? { massDelete: options.massDelete } : {}),
      ...(options.upgrades !== undefined ? { upgrades: options.upgrades } : {}),
      log,
    })
    try {
      group = await Group.load(db, options.deviceName)
      const g = group
      let host: Host | null = null
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
      node = new TandemNode(db, g, host, log, options.hotDocuments, { ttlMs: options.pairingTtlMs, openMs: options.pairingOpenMs })
      if (host !== null) {
        node.#peerList = new PeerList({ host, devices: () => g.list(), bootstrap: options.peers, relays: options.relays })
        node.#watch = new ConnectivityWatch(host)
        const n = node
        n.antiEntropy = new AntiEntropy({
          periodMs: options.antiEntropyMs ?? DEFAULT_ANTI_ENTROPY_MS, log,
          peers: () => (n.#paused || n.#stopped ? [] : n.connectedDevices()),
          exchange: (peer) => n.syncWith(peer),
        })
      }
      await node.#startNetwork(options.peers ?? [])
      return node
    } catch (err) {
      await db.close()
      throw err
    }
  }

  get deviceID(): DeviceID {
    return this.db.deviceID
  }

  /** Addresses other devices can dial, with /p2p/<this device>. */
  addresses(): string[] {
    return this.host?.getMultiaddrs().map((a) => a.toString()) ?? []
  }

  /** Every peer known: group devices, peers connected now, peers found nearby; with the true path of each. */
  peers(): PeerInfo[] {
    return this.#peerList?.list() ?? []
  }

  /** The connectivity doctor: per device how we know it, dial errors, path and rtt, our reachability, suggestions. */
  doctor(options: DoctorOptions = {}): Promise<DoctorReport> {
    const host = this.host
    const services = host?.services as Record<string, unknown> | undefined
    const relayKeeper = services?.['relayKeeper'] as { status?: () => RelayStatus[] } | undefined
    const ping = services?.['ping'] as { ping?: (p: PeerId, o?: { signal?: AbortSignal }) => Promise<number> } | undefined
    const subject: DoctorSubject = {
      deviceID: this.deviceID,
      network: host === null ? 'off' : this.#paused ? 'paused' : 'online',
      addresses: () => this.addresses(),
      peers: () => this.peers(),
      devices: () => this.group.list(),
      connections: (peer) => host?.getConnections(peerIdFromString(peer)) ?? [],
      relays: () => relayKeeper?.status?.() ?? [],
      relayServer: services?.['relay'] !== undefined,
      ping: async (peer, signal) => ping?.ping === undefined ? null : await ping.ping(peerIdFromString(peer), { signal }),
    }
    return doctorReport(subject, this.#watch, options)
  }

  /** Per group device and collection: verified in sync (equal head digests, when), or what differs. */
  syncStatusReport(): Promise<SyncStatusReport> {
    return this.syncStatus.report()
  }

  connectedDevices(): DeviceID[] {
    if (this.host === null) return []
    return [...new Set(this.host.getConnections().map((c) => c.remotePeer.toString()))]
      .filter((p) => this.group.has(p)) as DeviceID[]
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
    if (this.host === null || this.#paused) return
    this.#paused = true
    this.#nearby?.close()
    for (const t of this.#dialTimers.values()) clearTimeout(t)
    this.#dialTimers.clear()
    await Promise.allSettled(this.host.getConnections().map((c) => c.close()))
  }

  /** Back online: redials the group's devices; head exchange on connect catches both sides up. */
  resume(): void {
    if (this.host === null || !this.#paused) return
    this.#paused = false
    ;(this.host.services.relayKeeper as { kick?: () => void } | undefined)?.kick?.()
    for (const d of this.group.list()) {
      this.#backoff.reset(d.deviceID)
      this.#scheduleDial(d.deviceID, 0)
    }
  }

  /** A one-time invite (URI) for another device to join this group. */
  invite(options: { ttlMinutes?: number } = {}): InviteInfo {
    if (this.pairing === null || this.#paused) throw new TandemError('NETWORK_OFF', 'The network is off: go online to invite a device.')
    return this.pairing.createInvite(options)
  }

  /** Cancels an invite (by its id, its code or its URI). False when there is no such invite left. */
  cancelInvite(code: string): boolean {
    return this.pairing?.cancel(code) ?? false
  }

  /** Devices found on the local network by mDNS that are not in the group. */
  nearby(): NearbyDevice[] {
    return this.#nearby?.list() ?? []
  }

  /**
   * Asks a nearby device to pair; resolves once it shows the request, with the code to show here.
   * Its person types that code on it (`acceptPairing` there); this side has nothing more to do.
   * A device that has not opened "Pair nearby" refuses (PAIRING_CLOSED).
   */
  async requestPairing(peerID: string): Promise<{ id: string; code: string }> {
    if (this.#nearby === null || this.#paused) throw new TandemError('NETWORK_OFF', 'The network is off: go online to pair.')
    return this.#nearby.request(peerID)
  }

  /** Whether this device takes nearby pairing requests now ("Pair nearby" open), and until when. */
  pairingMode(): PairingMode {
    return this.#nearby?.mode() ?? { open: false, until: null }
  }

  /** Opens "Pair nearby": takes incoming requests for 3 minutes from now. */
  openPairing(): PairingMode {
    if (this.#nearby === null || this.#paused) throw new TandemError('NETWORK_OFF', 'The network is off: go online to pair.')
    return this.#nearby.open()
  }

  /** Closes "Pair nearby": refuses requests from now on, and declines those still pending. */
  closePairing(): PairingMode {
    return this.#nearby?.close() ?? { open: false, until: null }
  }

  /** Pairing requests waiting for a decision, both ways. */
  pairingRequests(): PairingRequest[] {
    return this.#nearby?.requests() ?? []
  }

  /** An incoming request with the code its device shows: pairs when it is right (PAIRING_WRONG_CODE otherwise). */
  async acceptPairing(id: string, code: string): Promise<void> {
    if (this.#nearby === null) throw new TandemError('NOT_FOUND', 'There is no such pairing request.')
    await this.#nearby.accept(id, code)
  }

  /** Declines an incoming pairing request, or withdraws an outgoing one. */
  async declinePairing(id: string): Promise<void> {
    if (this.#nearby === null) throw new TandemError('NOT_FOUND', 'There is no such pairing request.')
    await this.#nearby.decline(id)
  }

  /** Joins the group of the device that made the invite (merging groups only with `mergeGroups`: see Pairing.join). */
  async join(uri: string, options: { mergeGroups?: boolean } = {}): Promise<DeviceRecord> {
    if (this.pairing === null || this.#paused) throw new TandemError('NETWORK_OFF', 'The network is off: go online to join a group.')
    return this.pairing.join(uri, options)
  }

  /**
   * Removes a device from the group: it is told (if reachable) and leaves; the others forget it;
   * the group secret is renewed so it cannot read what follows; it is refused from then on.
   */
  async removeDevice(deviceID: string): Promise<void> {
    if (this.group.get(deviceID) === undefined) throw new TandemError('NOT_FOUND', `No device ${deviceID} in this group.`)
    // Told while still a member (afterwards it can reach none of our protocols). A busy device may
    // refuse one stream (its inbound stream limit) or answer late: try a few times.
    const peer = peerIdFromString(deviceID)
    for (let attempt = 1; this.#groupSync !== null && this.host !== null && this.host.getConnections(peer).length > 0; attempt++) {
      try {
        await this.#groupSync.tellRemoved(peer)
        break
      } catch (err) {
        this.#log(`could not tell ${deviceID} it was removed (attempt ${attempt} of 3): ${(err as Error).message}`)
        if (attempt >= 3) break
        await new Promise((r) => setTimeout(r, 300))
      }
    }
    await this.group.remove(deviceID)
    await this.group.rekey()
    this.#pushGroupSoon()
  }

  /**
   * Gossip reached nobody although devices may be connected (the mesh forms a moment after a
   * connect or a rekey): shortly, nudge each of them with a group exchange, after which they pull
   * from us (head exchange) — so the change is not left waiting for the next reconnect.
   */
  #syncAllSoon(): void {
    if (this.#syncAllTimer !== null || this.#stopped) return
    this.#syncAllTimer = setTimeout(() => {
      this.#syncAllTimer = null
      for (const d of this.connectedDevices()) {
        void this.#groupSync?.exchange(peerIdFromString(d)).catch((err: Error) => this.#log(`nudge ${d} failed: ${err.message}`))
      }
    }, 1000)
    this.#syncAllTimer.unref()
  }

  /** Sends the group state to every connected group device (soon: several changes go as one). */
  #pushGroupSoon(): void {
    if (this.#groupSync === null || this.#groupPush !== null || this.#stopped) return
    this.#groupPush = setTimeout(() => {
      this.#groupPush = null
      for (const d of this.connectedDevices()) {
        void this.#groupSync!.exchange(peerIdFromString(d)).catch((err: Error) => this.#log(`group sync with ${d} failed: ${err.message}`))
      }
    }, 50)
    this.#groupPush.unref()
  }

  /** Dials a multiaddr (/…/p2p/<peer ID>). */
  async dial(addr: string): Promise<DeviceID> {
    if (this.host === null) throw new TandemError('NETWORK_OFF', 'The network is off (--no-p2p): there is nothing to dial with.')
    const conn = await this.host.dial(multiaddr(checkMultiaddr(addr)), { signal: AbortSignal.timeout(10_000) })
    return conn.remotePeer.toString() as DeviceID
  }

  /**
   * Head exchange with a connected group device, then DAG sync of every block it has that we lack.
   * Concurrent calls for the same peer share one run; a call made while one runs gets the next one
   * (shared by every call made meanwhile), so its check follows whatever made the caller ask.
   */
  syncWith(peer: string, collections?: CollectionID[]): Promise<SyncReport> {
    const running = this.#syncing.get(peer)
    if (running !== undefined) {
      // The running one may have compared heads before the caller's reason to sync (a write just
      // now): the caller gets the one that runs after it, shared by everyone who asks meanwhile.
      let next = this.#again.get(peer)
      if (next === undefined) {
        next = running.catch(() => {}).then(() => {
          this.#again.delete(peer)
          return this.#stopped ? running : this.syncWith(peer)
        })
        next.catch(() => {}) // callers that fired and forgot
        this.#again.set(peer, next)
      }
      return next
    }
    const run = this.#sync(peer, collections).finally(() => { this.#syncing.delete(peer) })
    this.#syncing.set(peer, run)
    return run
  }

  async #sync(peerStr: string, collections?: CollectionID[]): Promise<SyncReport> {
    if (this.heads === null || this.dagSync === null) throw new TandemError('NETWORK_OFF', 'The network is off (--no-p2p): there is nothing to sync with.')
    const peer = peerIdFromString(peerStr)
    // Collections kept only in part (single documents replicated here) are not pulled whole.
    const scope = collections ?? (await this.db.listCollections()).filter((c) => c.partial !== true).map((c) => c.id)
    const localDigests = await this.db.collectionDigests()
    const remote = await this.heads.compare(peer, scope)
    await this.syncStatus.record(peerStr, scope, remote, localDigests)
    const report: SyncReport = { peer: peerStr as DeviceID, collections: remote.compared, differingDocs: 0, fetched: 0, applied: 0, rejected: 0 }
    const want: string[] = []
    const have: string[] = []
    for (const [collection, { docs }] of remote.differing) {
      // Only applied blocks count: a pending one still lacks ancestors, which this fetch brings.
      // Two multi-reads per collection, not two reads per document.
      const here = await this.db.storedBlocks(docs.flatMap((d) => d.heads))
      const lackingDocs: Array<{ docID: string; lacking: string[] }> = []
      let k = 0
      for (const { docID, heads } of docs) {
        const lacking = heads.filter((_, i) => !here[k + i])
        k += heads.length
        if (lacking.length > 0) lackingDocs.push({ docID, lacking })
      }
      const ours = await this.db.documentHeadsMany(collection, lackingDocs.map((d) => d.docID))
      lackingDocs.forEach((d, i) => {
        report.differingDocs++
        want.push(...d.lacking)
        have.push(...ours[i]!)
      })
    }
    if (want.length > 0) {
      const r = await this.dagSync.fetch(peer, want, have)
      report.fetched = r.received
      report.applied = r.applied
      report.rejected = r.rejected
      // Verify right away (digests first: cheap when now equal) rather than at the next period.
      const after = await this.db.collectionDigests()
      try {
        await this.syncStatus.record(peerStr, scope, await this.heads.compare(peer, scope), after)
      } catch (err) {
        this.#log(`re-check with ${peerStr} failed: ${(err as Error).message}`)
      }
    }
    this.emit('sync', report)
    return report
  }

  /** Fetches what pending blocks (received from `peer`) still wait for. */
  async #fetchAncestorsOf(peer: PeerId, pending: string[]): Promise<void> {
    const missing = await this.db.missingParentsOf(pending)
    if (missing.length > 0) await this.#fetchMissing([peer], missing)
  }

  async #fetchMissing(peers: PeerId[], missing: string[]): Promise<void> {
    if (this.dagSync === null) return
    const candidates = [...peers, ...this.connectedDevices().map((d) => peerIdFromString(d))]
    for (const peer of candidates) {
      if (this.#stopped) return
      if (this.host?.getConnections(peer).length === 0) continue
      try {
        const r = await this.dagSync.fetch(peer, missing)
        if (r.missing.length === 0) return
      } catch (err) {
        this.#log(`fetching missing ancestors from ${peer} failed: ${(err as Error).message}`)
      }
    }
  }

  async #startNetwork(peers: string[]): Promise<void> {
    const host = this.host
    if (host === null) return
    await this.dagSync!.start()
    await this.heads!.start()
    await this.gossip!.start()
    await this.#replicateServer!.start()
    await this.#groupSync!.start()
    await this.pairing!.start()
    await this.#nearby!.start()
    await this.replicators!.start()
    host.addEventListener('peer:connect', (evt) => this.#onConnect(evt.detail.toString()))
    host.addEventListener('peer:identify', (evt) => {
      const peer = evt.detail.peerId.toString()
      if (this.#stopped || !this.group.has(peer) || peer === this.deviceID) return
      const listen = evt.detail.listenAddrs.map((a) => a.toString())
      if (listen.length > 0) void this.group.seen(peer, listen).catch(() => {})
    })
    host.addEventListener('peer:disconnect', (evt) => this.#onDisconnect(evt.detail.toString()))
    this.group.on('change', ({ deviceID, removed }) => {
      // A relay of ours may have refused us a slot until we became one group.
      ;(host.services.relayKeeper as { kick?: () => void } | undefined)?.kick?.()
      this.#pushGroupSoon() // introduce new devices to the others, and spread removals
      if (removed) {
        this.#cancelDial(deviceID)
        void host.hangUp(peerIdFromString(deviceID)).catch(() => {})
      } else if (host.getConnections(peerIdFromString(deviceID)).length === 0) {
        this.#scheduleDial(deviceID, 0)
      } else {
        this.#onConnect(deviceID) // became a member while connected: sync now
      }
    })
    for (const addr of peers) {
      void this.dial(addr).catch((err: Error) => this.#log(`could not dial ${addr}: ${err.message}`))
    }
    for (const d of this.group.list()) this.#scheduleDial(d.deviceID, 0)
    this.antiEntropy?.start()
  }

  #onConnect(peer: string): void {
    if (this.#stopped || !this.group.has(peer) || peer === this.deviceID) return
    this.#backoff.reset(peer)
    this.#cancelDial(peer)
    // Only addresses we dialed are worth redialing: an inbound connection's remote address carries
    // the other side's ephemeral source port. Its listen addresses arrive by identify (below).
    const addrs = this.host!.getConnections(peerIdFromString(peer))
      .filter((c) => c.direction === 'outbound').map((c) => c.remoteAddr.toString())
    void this.group.seen(peer, addrs).catch(() => {})
    this.emit('peer:connect', peer as DeviceID)
    // First agree on the group (devices, secret), then on the data.
    this.#groupSync!.exchange(peerIdFromString(peer)).catch((err: Error) => this.#log(`group sync with ${peer} failed: ${err.message}`))
      .then(() => this.syncWith(peer)).catch((err: Error) => {
      this.#log(`sync with ${peer} failed: ${err.message}`)
      this.emit('sync:error', { peer: peer as DeviceID, error: err.message })
    })
  }

  #onDisconnect(peer: string): void {
    if (this.#stopped || !this.group.has(peer) || peer === this.deviceID) return
    this.emit('peer:disconnect', peer as DeviceID)
    if (this.#paused) return
    this.#scheduleDial(peer, this.#backoff.next(peer))
  }

  #scheduleDial(deviceID: string, delay: number): void {
    if (this.#stopped || this.#paused || this.host === null || this.#dialTimers.has(deviceID)) return
    const timer = setTimeout(() => {
      this.#dialTimers.delete(deviceID)
      void this.#redial(deviceID)
    }, delay)
    timer.unref()
    this.#dialTimers.set(deviceID, timer)
  }

  #cancelDial(deviceID: string): void {
    const t = this.#dialTimers.get(deviceID)
    if (t !== undefined) clearTimeout(t)
    this.#dialTimers.delete(deviceID)
  }

  async #redial(deviceID: string): Promise<void> {
    const host = this.host
    const device = this.group.get(deviceID)
    if (this.#stopped || host === null || device === undefined) return
    const peer = peerIdFromString(deviceID)
    if (host.getConnections(peer).length > 0) return
    try {
      if (device.addrs.length > 0) await host.peerStore.merge(peer, { multiaddrs: device.addrs.map((a) => multiaddr(a)) })
      await host.dial(peer, { signal: AbortSignal.timeout(10_000) })
    } catch (err) {
      this.#log(`redial ${deviceID} failed: ${(err as Error).message}`)
      this.#scheduleDial(deviceID, this.#backoff.next(deviceID))
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    for (const t of this.#dialTimers.values()) clearTimeout(t)
    this.#dialTimers.clear()
    if (this.#groupPush !== null) clearTimeout(this.#groupPush)
    if (this.#syncAllTimer !== null) clearTimeout(this.#syncAllTimer)
    await this.antiEntropy?.stop()
    await this.gossip?.stop()
    await this.replicators?.stop()
    await this.#nearby?.stop()
    await Promise.allSettled([...this.#syncing.values()])
    if (this.host !== null) await this.host.stop()
    await this.db.close()
  }
}
