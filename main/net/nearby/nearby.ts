/**
 * Nearby pairing: devices found by mDNS that are not in the group are listed as nearby; "pair" on
 * one sends a request over a direct protocol; the requester shows a 6-digit code and the person types
 * it on the other device, which checks it with the requester by passkey entry (./session.ts,
 * ./passkey.ts). A device takes requests only while its person has opened "Pair nearby" on it, for
 * PAIRING_OPEN_MS; otherwise it refuses them (PAIRING_CLOSED). Requests expire (2 minutes), are few
 * at a time (flood-safe: a bounded number pending, one per peer, two per source address and ten a
 * minute from one, a deadline on the handshake) and every message is checked (./messages.ts)
 * before anyone looks at it.
 */
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerDiscovery, PeerId, PeerInfo, Stream } from '@libp2p/interface'
import { TandemError, type ErrorCode } from '../../../shared/errors.ts'
import { checkDeviceID, type PairingGroup } from '../group.ts'
import { Channel, errorFrame, MAX_PREAUTH_MESSAGE_BYTES, type PeerErrorMessage, refuseWith, WireError } from '../wire.ts'
import { ProtocolService, type InboundConnection, type ProtocolHost } from '../protocol-service.ts'
import { commitment, opens, requestID, sessionID } from './code.ts'
import {
  HANDSHAKE_MS, MAX_CODE_TRIES, MAX_INBOUND_STREAMS, MAX_INCOMING, MAX_MESSAGE_BYTES, MAX_NEARBY, MAX_OUTGOING, NEARBY_STALE_MS, NONCE_BYTES,
  PAIRING_OPEN_MS, PROTOCOL, REQUEST_TTL_MS,
} from './constants.ts'
import { NonceMsg, Request, Reveal, Shown } from './messages.ts'
import { watchMdnsNames } from './mdns-name.ts'
import { isCode, newCode } from './passkey.ts'
import { Session, type Outcome, type PairingRequest } from './session.ts'
import { SourceLimits, sourceOf } from './sources.ts'

export type { Outcome, PairingRequest } from './session.ts'

/** Whether this device takes nearby pairing requests now, and until when. */
export interface PairingMode {
  open: boolean
  until: number | null
}

/** A device found by mDNS, not paired. Written once, in the API contract. */
export type NearbyDevice = import('../../../shared/api/types.ts').NearbyDevice

interface Seen extends NearbyDevice { lastSeen: number }

/** Where a connection's other end is, as this device sees it (a multiaddr). */
interface Remote { remoteAddr: { toString(): string } }

/** What nearby pairing needs of the host: its protocol, this device's ID, and where a peer was reached. */
export interface NearbyHost extends ProtocolHost {
  readonly peerId: PeerId
  /** Open connections to `peer` (libp2p's `getConnections`). */
  getConnections(peer: PeerId): Remote[]
}

/** What nearby pairing reads of the group and writes to it (Group satisfies it): a pairing's, and its changes. */
export interface NearbyGroup extends PairingGroup {
  /** Devices were added or removed: the nearby list (devices not in the group) may change. */
  on(event: 'change', listener: () => void): unknown
  off(event: 'change', listener: () => void): unknown
}

export interface NearbyComponents {
  host: NearbyHost
  group: NearbyGroup
  /** The host's mDNS service, when mDNS is on: devices found on the LAN (and their names). */
  mdns?: PeerDiscovery
}

export interface NearbyInit {
  selfAddrs: () => string[]
  /** The mDNS service tag (to read device names from mDNS answers). */
  serviceTag?: string
  isPaused?: () => boolean
  /** How long a request stays open once shown (default 2 minutes; shorter in tests). */
  ttlMs?: number
  /** How long "Pair nearby" stays open (default and maximum PAIRING_OPEN_MS; shorter in tests). */
  openMs?: number
  log?: (msg: string) => void
}

interface NearbyEvents {
  /** The list of nearby devices changed. */
  nearby: []
  /** A request opened: from another device (the person types its code), or to one (this shows the code). */
  'pairing:request': [PairingRequest]
  'pairing:resolved': [{ id: string; outcome: Outcome }]
  /** A pending request changed (a wrong entry: fewer tries left). */
  'pairing:changed': [PairingRequest]
  /** "Pair nearby" opened or closed here. */
  'pairing:mode': [PairingMode]
}

const KNOWN_REFUSALS: ReadonlySet<string> = new Set(['PAIRING_BUSY', 'ALREADY_PAIRED', 'NETWORK_OFF', 'PAIRING_CLOSED'])

export class Nearby extends EventEmitter<NearbyEvents> {
  readonly #host: NearbyHost
  readonly #group: NearbyGroup
  readonly #mdns: PeerDiscovery | undefined
  readonly #init: NearbyInit
  readonly #log: (msg: string) => void
  readonly #service: ProtocolService
  readonly #seen = new Map<string, Seen>()
  readonly #names = new Map<string, string>()
  readonly #sessions = new Map<string, Session>()
  /** Peers with a request being set up or pending, per direction (one each at a time). */
  readonly #incoming = new Set<string>()
  readonly #outgoing = new Set<string>()
  readonly #sources = new SourceLimits()
  #openUntil: number | null = null
  #openTimer: NodeJS.Timeout | null = null
  #unwatch: () => void = () => {}
  #prune: NodeJS.Timeout | null = null
  readonly #onPeer = (evt: CustomEvent<PeerInfo>): void => this.#discovered(evt.detail)
  readonly #onGroupChange = (): void => { this.emit('nearby') }

  constructor(components: NearbyComponents, init: NearbyInit) {
    super()
    this.#host = components.host
    this.#group = components.group
    this.#mdns = components.mdns
    this.#init = init
    this.#log = init.log ?? (() => {})
    // Strangers pair: anyone is heard, under the pre-authentication cap until its code matched. A
    // request's stream stays open while a person decides (minutes), under the request's own
    // AbortController; direct connections only (mDNS finds devices on the LAN).
    this.#service = new ProtocolService(this.#host, {
      protocol: PROTOCOL, name: 'nearby', maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: false,
      maxMessageBytes: MAX_MESSAGE_BYTES, preAuthMessageBytes: MAX_PREAUTH_MESSAGE_BYTES, keepOpen: true,
      isMember: () => true, log: this.#log,
    }, (ch, peer, _stream, connection, controller) => this.#serve(ch, peer.toString(), connection, controller))
  }

  async start(): Promise<void> {
    await this.#service.start()
    const mdns = this.#mdns
    if (mdns !== undefined) {
      mdns.addEventListener('peer', this.#onPeer)
      this.#unwatch = watchMdnsNames(mdns, this.#init.serviceTag ?? 'tandem.local', (peer, name) => this.#named(peer, name))
      this.#prune = setInterval(() => this.#pruneStale(), 5_000)
      this.#prune.unref()
    }
    this.#group.on('change', this.#onGroupChange)
  }

  async stop(): Promise<void> {
    this.#mdns?.removeEventListener('peer', this.#onPeer)
    this.#unwatch()
    if (this.#prune !== null) clearInterval(this.#prune)
    this.#group.off('change', this.#onGroupChange)
    if (this.#openTimer !== null) clearTimeout(this.#openTimer)
    this.#openUntil = null
    for (const s of this.#sessions.values()) s.cancel()
    // The host may be stopping already.
    await this.#service.stop().catch((err: Error) => this.#log(`nearby: could not give back ${PROTOCOL}: ${err.message}`))
  }

  /** Devices found by mDNS lately that are not in the group. */
  list(): NearbyDevice[] {
    const host = this.#host
    const group = this.#group
    const cutoff = Date.now() - NEARBY_STALE_MS
    const self = host.peerId.toString()
    return [...this.#seen.values()]
      .filter((d) => d.lastSeen >= cutoff && d.peerID !== self && !group.has(d.peerID))
      .sort((a, b) => a.discoveredAt - b.discoveredAt)
      .map(({ peerID, name, addresses, discoveredAt }) => (name === undefined ? { peerID, addresses, discoveredAt } : { peerID, name, addresses, discoveredAt }))
  }

  requests(): PairingRequest[] {
    return [...this.#sessions.values()].map((s) => ({ ...s.record }))
  }

  mode(): PairingMode {
    return { open: this.#openUntil !== null, until: this.#openUntil }
  }

  /** Takes incoming requests from now for PAIRING_OPEN_MS (again from now when open already). */
  open(): PairingMode {
    if (this.#init.isPaused?.() === true) throw new TandemError('NETWORK_OFF', 'The network is off: go online to pair.')
    const ms = Math.min(this.#init.openMs ?? PAIRING_OPEN_MS, PAIRING_OPEN_MS)
    if (this.#openTimer !== null) clearTimeout(this.#openTimer)
    this.#openUntil = Date.now() + ms
    this.#openTimer = setTimeout(() => this.close(), ms)
    this.#openTimer.unref()
    this.#log(`nearby: taking pairing requests for ${Math.round(ms / 1000)} s`)
    const mode = this.mode()
    this.emit('pairing:mode', mode)
    return mode
  }

  /** Stops taking incoming requests; those still pending are declined (unless their code matched). */
  close(): PairingMode {
    if (this.#openTimer !== null) clearTimeout(this.#openTimer)
    this.#openTimer = null
    const wasOpen = this.#openUntil !== null
    this.#openUntil = null
    for (const s of this.#sessions.values()) {
      if (s.record.direction === 'incoming' && !s.matched) void s.decline()
    }
    const mode = this.mode()
    if (wasOpen) {
      this.#log('nearby: no longer taking pairing requests')
      this.emit('pairing:mode', mode)
    }
    return mode
  }

  #discovered(info: PeerInfo): void {
    const peerID = info.id.toString()
    if (peerID === this.#host.peerId.toString()) return
    const addresses = info.multiaddrs.map((a) => a.toString()).slice(0, 16)
    const now = Date.now()
    const prev = this.#seen.get(peerID)
    if (prev !== undefined) {
      prev.lastSeen = now
      if (prev.addresses.join(' ') === addresses.join(' ')) return
      prev.addresses = addresses
    } else {
      if (this.#seen.size >= MAX_NEARBY) {
        // Full (a LAN of fake answers?): the one not heard of for longest makes room.
        const oldest = [...this.#seen.values()].sort((a, b) => a.lastSeen - b.lastSeen)[0]!
        this.#seen.delete(oldest.peerID)
      }
      const name = this.#names.get(peerID)
      this.#seen.set(peerID, { peerID, addresses, discoveredAt: now, lastSeen: now, ...(name === undefined ? {} : { name }) })
    }
    if (!this.#group.has(peerID)) this.emit('nearby')
  }

  #named(peerID: string, name: string): void {
    if (this.#names.get(peerID) !== name) {
      if (this.#names.size >= MAX_NEARBY && !this.#names.has(peerID)) this.#names.delete(this.#names.keys().next().value!)
      this.#names.set(peerID, name)
    }
    const d = this.#seen.get(peerID)
    if (d !== undefined && d.name !== name) {
      d.name = name
      if (!this.#group.has(peerID)) this.emit('nearby')
    }
  }

  #pruneStale(): void {
    const cutoff = Date.now() - NEARBY_STALE_MS
    let changed = false
    for (const [peer, d] of this.#seen) {
      if (d.lastSeen < cutoff) { this.#seen.delete(peer); changed = changed || !this.#group.has(peer) }
    }
    if (changed) this.emit('nearby')
  }

  /** Asks a nearby device to pair. Resolves once the other device shows the request. */
  async request(peerID: string): Promise<{ id: string; code: string }> {
    const host = this.#host
    const group = this.#group
    const peer = checkDeviceID(peerID)
    if (peer === host.peerId.toString()) throw new TandemError('INVALID_INPUT', 'This is this very device.')
    if (group.has(peer)) throw new TandemError('ALREADY_PAIRED', `${this.#seen.get(peer)?.name ?? peer} is already a device of this group.`)
    if (this.#init.isPaused?.() === true) throw new TandemError('NETWORK_OFF', 'The network is off: go online to pair.')
    if (this.#outgoing.has(peer)) throw new TandemError('PAIRING_BUSY', 'A request to this device is pending already.')
    if (this.#outgoing.size >= MAX_OUTGOING) throw new TandemError('PAIRING_BUSY', `At most ${MAX_OUTGOING} requests can wait at once: cancel one first.`)
    this.#outgoing.add(peer)
    let handedOff = false
    try {
      let stream: Stream
      try {
        stream = await host.dialProtocol(peerIdFromString(peer), PROTOCOL, { signal: AbortSignal.timeout(HANDSHAKE_MS) })
      } catch (err) {
        const who = this.#seen.get(peer)?.name ?? peer
        if ((err as Error).name === 'UnsupportedProtocolError') {
          // An older Tandem speaks nearby 1.0.0 (codes compared on both screens), which this one refuses.
          throw new TandemError('UNREACHABLE', `${who} runs an older Tandem that pairs nearby the old way: update it, or pair by invite.`)
        }
        throw new TandemError('UNREACHABLE', `Could not reach ${who}: ${(err as Error).message}`)
      }
      const controller = new AbortController()
      const ch = new Channel(stream, { maxMessageBytes: MAX_MESSAGE_BYTES, preAuthMessageBytes: MAX_PREAUTH_MESSAGE_BYTES, signal: controller.signal })
      const handshake = setTimeout(() => controller.abort(new Error('the other device did not answer in time')), HANDSHAKE_MS)
      try {
        const self = host.peerId.toString()
        const mine = randomBytes(NONCE_BYTES)
        await ch.send({ t: 'request', v: 1, name: group.name, commit: commitment(self, mine) })
        const theirs = await ch.recv(NonceMsg)
        if ('error' in theirs) throw refusal(theirs)
        await ch.send({ t: 'reveal', nonce: mine })
        const shown = await ch.recv(Shown)
        if ('error' in shown) throw refusal(shown)
        clearTimeout(handshake)
        const record: PairingRequest = {
          id: requestID(self, peer, mine, theirs.nonce),
          peerID: peer,
          ...(cleanName(theirs.name) === '' ? {} : { claimedName: cleanName(theirs.name) }),
          direction: 'outgoing',
          code: newCode(),
          expiresAt: Date.now() + shown.ttlMs,
          triesLeft: MAX_CODE_TRIES,
        }
        const session = sessionID(self, peer, mine, theirs.nonce)
        this.#start(record, session, ch, controller, host.getConnections(peerIdFromString(peer))[0], () => this.#outgoing.delete(peer))
        handedOff = true
        this.emit('pairing:request', { ...record })
        return { id: record.id, code: record.code }
      } catch (err) {
        const timedOut = controller.signal.aborted
        controller.abort(err as Error)
        stream.abort(err as Error)
        if (err instanceof TandemError) {
          if (err.code === 'PAIRING_CLOSED') {
            throw new TandemError('PAIRING_CLOSED', `${this.#seen.get(peer)?.name ?? 'That device'} is not accepting pairing requests now: open Pair nearby on it (Devices & peers → Let a nearby device pair, or \`tandem client pair open\`), then ask again.`)
          }
          throw err
        }
        const msg = timedOut ? 'the other device did not answer in time' : (err as Error).message
        throw new TandemError('PAIRING_FAILED', `Pairing with ${this.#seen.get(peer)?.name ?? peer} failed: ${msg}`)
      } finally {
        clearTimeout(handshake)
      }
    } finally {
      if (!handedOff) this.#outgoing.delete(peer)
    }
  }

  /** Its person typed `code` for an incoming request: pairs when it is the code the requester shows. */
  async accept(id: string, code: string): Promise<void> {
    const session = this.#session(id)
    if (!isCode(code)) throw new TandemError('INVALID_INPUT', 'The code is the 6 digits the other device shows.')
    await session.enterCode(code)
  }

  /** Declines an incoming request, or withdraws an outgoing one. */
  async decline(id: string): Promise<void> {
    await this.#session(id).decline()
  }

  #session(id: unknown): Session {
    const s = typeof id === 'string' ? this.#sessions.get(id) : undefined
    if (s === undefined || s.done) throw new TandemError('NOT_FOUND', 'There is no such pairing request (it expired, or was accepted or declined).')
    return s
  }

  #start(record: PairingRequest, sessionID: Uint8Array, ch: Channel, controller: AbortController, conn: Remote | undefined, release: () => void): Session {
    const session = new Session({
      record, session: sessionID, ch, group: this.#group, selfAddrs: this.#init.selfAddrs, log: this.#log,
      remoteAddr: conn?.remoteAddr.toString(),
      abort: (err) => { controller.abort(err); ch.abort(err) },
      onChange: () => { this.emit('pairing:changed', { ...record }) },
      onDone: (outcome) => {
        this.#sessions.delete(record.id)
        release()
        this.#log(`nearby pairing ${record.id} with ${record.peerID}: ${outcome}`)
        this.emit('pairing:resolved', { id: record.id, outcome })
        // One pairing per opening of "Pair nearby".
        if (outcome === 'accepted' && record.direction === 'incoming') this.close()
      },
    })
    this.#sessions.set(record.id, session)
    return session
  }

  /** An incoming request: its stream is this handler's, and the session's once the request is shown. */
  async #serve(ch: Channel, peer: string, connection: InboundConnection, controller: AbortController): Promise<void> {
    const host = this.#host
    const group = this.#group
    const log = this.#log
    const refuse = (code: ErrorCode, error: string): Promise<void> => refuseWith(ch, errorFrame(code, error))
    if (group.has(peer)) return refuse('ALREADY_PAIRED', 'This device is in your group already.')
    if (this.#openUntil === null) return refuse('PAIRING_CLOSED', 'This device is not accepting pairing requests now: open Pair nearby on it.')
    if (this.#incoming.has(peer)) return refuse('PAIRING_BUSY', 'A request from you is pending already.')
    const source = sourceOf(connection.remoteAddr.toString())
    if (this.#incoming.size >= MAX_INCOMING) return refuse('PAIRING_BUSY', 'Too many pairing requests are waiting on this device: try again later.')
    const admitted = this.#sources.admit(source)
    if (admitted === 'pending') return refuse('PAIRING_BUSY', 'Too many pairing requests from your network address are waiting on this device: try again later.')
    if (admitted === 'rate') return refuse('PAIRING_BUSY', 'Too many pairing requests from your network address: try again in a minute.')
    this.#incoming.add(peer)
    let handedOff = false
    const handshake = setTimeout(() => controller.abort(new Error('the handshake timed out')), HANDSHAKE_MS)
    try {
      const request = await ch.recv(Request)
      const theirName = cleanName(request.name)
      const mine = randomBytes(NONCE_BYTES)
      await ch.send({ t: 'nonce', nonce: mine, name: group.name })
      const reveal = await ch.recv(Reveal)
      if (!opens(request.commit, peer, reveal.nonce)) return await refuse('PAIRING_FAILED', 'The revealed nonce does not match the commitment.')
      if (group.has(peer)) return await refuse('ALREADY_PAIRED', 'This device is in your group already.')
      // "Pair nearby" may have closed during the handshake; a request lasts no longer than it.
      const until = this.#openUntil
      if (until === null) return await refuse('PAIRING_CLOSED', 'This device is not accepting pairing requests now: open Pair nearby on it.')
      clearTimeout(handshake)
      const self = host.peerId.toString()
      const ttlMs = Math.max(1, Math.min(this.#init.ttlMs ?? REQUEST_TTL_MS, REQUEST_TTL_MS, until - Date.now()))
      const record: PairingRequest = {
        id: requestID(peer, self, reveal.nonce, mine),
        peerID: peer,
        ...(theirName === '' ? {} : { claimedName: theirName }),
        direction: 'incoming',
        expiresAt: Date.now() + ttlMs,
        triesLeft: MAX_CODE_TRIES,
      }
      const session = sessionID(peer, self, reveal.nonce, mine)
      this.#start(record, session, ch, controller, connection, () => { this.#incoming.delete(peer); this.#sources.release(source) })
      handedOff = true
      this.emit('pairing:request', { ...record })
      await ch.send({ t: 'shown', ttlMs })
    } catch (err) {
      log(`nearby: request from ${peer} failed: ${(err as Error).message}`)
      controller.abort(err as Error)
      ch.abort(err instanceof WireError ? err : new Error((err as Error).message))
    } finally {
      clearTimeout(handshake)
      if (!handedOff) {
        this.#incoming.delete(peer)
        this.#sources.release(source)
      }
    }
  }
}

function refusal(msg: PeerErrorMessage): TandemError {
  const code = msg.code !== undefined && KNOWN_REFUSALS.has(msg.code) ? msg.code as ErrorCode : 'PAIRING_FAILED'
  return new TandemError(code, `The other device refused: ${msg.error}`)
}

function cleanName(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 64)
}
