/**
 * Hole punching for group devices that reach each other only through a relay: a WebRTC
 * (private-to-private) connection, signalled over the relayed one, with ICE against our own STUN.
 * DCUtR cannot punch over TCP in js-libp2p 3: identify drops observed TCP addresses, and
 * @libp2p/tcp dials from a random port, so the NAT's mapping never matches the announced one
 * (measured in network namespaces); WebRTC over UDP can, through the
 * usual home NATs. Symmetric NATs defeat it: then the devices stay relayed, and we try again now
 * and then (backoff), since networks change (a laptop moves home).
 *
 * Once a direct connection is up, new streams prefer it (libp2p picks direct, unlimited
 * connections); the relayed one is closed as soon as it carries no Tandem stream, so that the
 * relay carries nothing more than the next signalling.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { ComponentLogger, Connection, Libp2pEvents, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { Backoff } from './backoff.ts'
import { classifyConnection, isRelayed, isWebRTC, selectedPair } from './paths.ts'

export interface HolePunchInit {
  /** Only group devices are worth a direct connection. */
  isMember: (peer: string) => boolean
  /** Delay after a relayed connection opens before the first try (ms; identify runs meanwhile). */
  firstDelayMs?: number
  /** The other side waits this much longer, so that both do not dial at once (ms). */
  responderGraceMs?: number
  /** First retry after a failed try (ms); doubles up to `maxRetryMs`. */
  retryMs?: number
  maxRetryMs?: number
  /** ICE + DTLS + SCTP must be done within this (ms). */
  dialTimeoutMs?: number
  /** Peers being dialed by WebRTC now (the host's gater lets only those /webrtc dials through). */
  punching?: Set<string>
  /** Start with hole punching on (default) or off (`setEnabled` turns it on later). */
  enabled?: boolean
}

export interface HolePunchComponents {
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  peerId: PeerId
  logger: ComponentLogger
}

export interface HolePunchStats {
  attempts: number
  upgrades: number
  failures: number
  lastError: string | null
  /**
   * Per peer: when the first relayed connection of this spell opened, when the direct one did, and
   * how many WebRTC dials this side made meanwhile.
   */
  peers: Record<string, { relayedAt: number; directAt: number | null; path: string | null; tries: number }>
}

const SIGNALING_PROTOCOL = '/webrtc-signaling/'
// Streams that live as long as the connection; any other open stream is work in flight.
const LONG_LIVED = ['/meshsub/', '/ipfs/id/', '/ipfs/ping/', '/libp2p/circuit/', SIGNALING_PROTOCOL]
const RELAYED_IDLE_POLL_MS = 500
// A sync is several streams one after the other: the relayed connection must be idle this long.
const RELAYED_IDLE_MS = 2_000
// Both sides dialing at once would spoil both tries: wait while the other side's try is running.
const COLLISION_RETRY_MS = 2_000
// A sync still running over the relay is let finish; past this the relayed connection goes anyway.
const RELAYED_CLOSE_MAX_WAIT_MS = 10 * 60_000

export class HolePunch implements Startable {
  readonly #c: HolePunchComponents
  readonly #init: Required<HolePunchInit>
  readonly #timers = new Map<string, NodeJS.Timeout>()
  readonly #running = new Set<string>()
  readonly #backoff: Backoff
  readonly #log: (msg: string) => void
  readonly #stats: HolePunchStats = { attempts: 0, upgrades: 0, failures: 0, lastError: null, peers: {} }
  #started = false
  #enabled: boolean

  constructor(components: HolePunchComponents, init: HolePunchInit) {
    this.#c = components
    this.#init = {
      firstDelayMs: 1_000, responderGraceMs: 25_000, retryMs: 30_000, maxRetryMs: 10 * 60_000, dialTimeoutMs: 20_000, punching: new Set<string>(), enabled: true,
      ...Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined)),
    } as Required<HolePunchInit>
    this.#backoff = new Backoff({ initialMs: this.#init.retryMs, maxMs: this.#init.maxRetryMs })
    this.#log = (msg) => components.logger.forComponent('tandem:hole-punch')(msg)
    this.#enabled = this.#init.enabled
  }

  get enabled(): boolean {
    return this.#enabled
  }

  /** Turns hole punching on or off (e.g. on a metered network); on, it tries every relayed-only device. */
  setEnabled(on: boolean): void {
    this.#enabled = on
    if (!on) return
    const peers = new Set(this.#c.connectionManager.getConnections().filter(isRelayed).map((c) => c.remotePeer.toString()))
    for (const peer of peers) {
      if (this.#hasDirect(peer)) continue
      this.#backoff.reset(peer)
      const initiator = this.#c.peerId.toString() < peer
      this.#schedule(peer, initiator ? 0 : this.#init.responderGraceMs)
    }
  }

  readonly [Symbol.toStringTag] = 'tandem:hole-punch'

  async start(): Promise<void> {
    this.#started = true
    this.#c.events.addEventListener('connection:open', this.#onOpen)
  }

  async stop(): Promise<void> {
    this.#started = false
    this.#c.events.removeEventListener('connection:open', this.#onOpen)
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
  }

  stats(): HolePunchStats {
    return structuredClone(this.#stats)
  }

  /** Try now (tests, or a person pressing "connect directly"). Resolves true if a direct path is up. */
  async tryNow(peer: string): Promise<boolean> {
    return this.#attempt(peer)
  }

  #onOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    const peer = conn.remotePeer.toString()
    if (!isRelayed(conn)) {
      // A direct path came up (ours, or libp2p dialing a /webrtc address it learned): the relayed
      // connections to that peer have had their day.
      const entry = this.#stats.peers[peer]
      const path = classifyConnection(conn)
      if (entry !== undefined && entry.directAt === null && path !== null && path !== 'relayed') {
        this.#stats.peers[peer] = { ...entry, directAt: Date.now(), path }
        if (isWebRTC(conn) && !this.#running.has(peer)) this.#stats.upgrades++ // our own tries count themselves
      }
      if (this.#open(peer).some(isRelayed)) this.#closeRelayedWhenIdle(peer)
      return
    }
    if (this.#hasDirect(peer)) {
      this.#closeRelayedWhenIdle(peer)
      return
    }
    // Membership is checked when trying: a device pairing over this very connection is not one yet.
    const entry = this.#stats.peers[peer]
    if (entry === undefined || entry.directAt !== null) this.#stats.peers[peer] = { relayedAt: Date.now(), directAt: null, path: 'relayed', tries: 0 }
    this.#backoff.reset(peer)
    // The lower peer ID dials; the other waits a little longer, in case the first cannot.
    const initiator = this.#c.peerId.toString() < peer
    this.#schedule(peer, this.#init.firstDelayMs + (initiator ? 0 : this.#init.responderGraceMs))
  }

  #open(peer: string): Connection[] {
    return this.#c.connectionManager.getConnections().filter((c) => c.remotePeer.toString() === peer && c.status === 'open')
  }

  #hasDirect(peer: string): boolean {
    return this.#open(peer).some((c) => !isRelayed(c) && (!isWebRTC(c) || classifyConnection(c) !== 'relayed'))
  }

  #schedule(peer: string, delay: number): void {
    if (!this.#started || this.#timers.has(peer)) return
    const t = setTimeout(() => {
      this.#timers.delete(peer)
      void this.#attempt(peer).then((ok) => {
        if (!ok && this.#started && this.#open(peer).some(isRelayed) && !this.#hasDirect(peer)) this.#schedule(peer, this.#backoff.next(peer))
      })
    }, delay)
    t.unref()
    this.#timers.set(peer, t)
  }

  /** The WebRTC address of `peer` through the relay of our relayed connection to it. */
  #webrtcAddr(peer: string, relayed: Connection): Multiaddr | null {
    const parts = relayed.remoteAddr.getComponents()
    const i = parts.findIndex((c) => c.name === 'p2p-circuit')
    if (i <= 0) return null
    let prefix = multiaddr(parts.slice(0, i))
    if (parts[i - 1]!.name !== 'p2p') {
      // Our connection to the relay itself names its peer ID.
      const relayConn = this.#c.connectionManager.getConnections().find((c) => c.direct && prefix.equals(c.remoteAddr.decapsulateCode(421)))
      if (relayConn === undefined) return null
      prefix = prefix.encapsulate(`/p2p/${relayConn.remotePeer.toString()}`)
    }
    return prefix.encapsulate(`/p2p-circuit/webrtc/p2p/${peer}`)
  }

  async #attempt(peer: string): Promise<boolean> {
    if (!this.#started || !this.#enabled || this.#running.has(peer) || !this.#init.isMember(peer)) return false
    if (this.#hasDirect(peer)) {
      this.#closeRelayedWhenIdle(peer)
      return true
    }
    const relayed = this.#open(peer).find(isRelayed)
    if (relayed === undefined) return false
    if (this.#open(peer).some((c) => c.streams.some((st) => st.direction === 'inbound' && st.protocol?.startsWith(SIGNALING_PROTOCOL) === true))) {
      this.#log(`${peer} is dialing us by WebRTC now: not dialing back`)
      this.#schedule(peer, COLLISION_RETRY_MS)
      return false
    }
    const addr = this.#webrtcAddr(peer, relayed)
    if (addr === null) return false
    this.#running.add(peer)
    this.#init.punching.add(peer)
    this.#stats.attempts++
    const began = Date.now()
    const tried = this.#stats.peers[peer]
    if (tried !== undefined) tried.tries++
    try {
      const conn = await this.#c.connectionManager.openConnection(addr, { force: true, signal: AbortSignal.timeout(this.#init.dialTimeoutMs) })
      const path = classifyConnection(conn)
      this.#log(`WebRTC to ${peer} up in ${Date.now() - began} ms, path ${path}`)
      if (path === 'relayed') {
        // A TURN-relayed WebRTC path is no better than the circuit: keep the circuit, try later.
        await conn.close().catch((err: Error) => this.#log(`closing the TURN-relayed WebRTC connection to ${peer} failed: ${err.message}`))
        this.#stats.failures++
        this.#stats.lastError = `ICE chose a relay (TURN) candidate: ${JSON.stringify(selectedPair(conn))}`
        return false
      }
      this.#stats.upgrades++
      const entry = this.#stats.peers[peer] ?? { relayedAt: began, directAt: null, path: null, tries: 1 }
      this.#stats.peers[peer] = { ...entry, directAt: entry.directAt ?? Date.now(), path }
      this.#backoff.reset(peer)
      this.#closeRelayedWhenIdle(peer)
      return true
    } catch (err) {
      this.#stats.failures++
      this.#stats.lastError = (err as Error).message
      this.#log(`WebRTC to ${peer} failed after ${Date.now() - began} ms: ${(err as Error).message}`)
      return false
    } finally {
      this.#running.delete(peer)
      this.#init.punching.delete(peer)
    }
  }

  /** Closes the peer's relayed connections once they have carried no work for a moment. */
  #closeRelayedWhenIdle(peer: string): void {
    const key = `close:${peer}`
    if (this.#timers.has(key)) return
    const deadline = Date.now() + RELAYED_CLOSE_MAX_WAIT_MS
    let idleSince = Date.now()
    const poll = (): void => {
      this.#timers.delete(key)
      if (!this.#started || !this.#hasDirect(peer)) return
      const relayed = this.#open(peer).filter(isRelayed)
      if (relayed.length === 0) return
      const now = Date.now()
      const working = relayed.some((c) => c.streams.some((st) => !LONG_LIVED.some((p) => st.protocol?.startsWith(p) === true)))
      if (working) idleSince = now
      if (now - idleSince < RELAYED_IDLE_MS && now < deadline) {
        const t = setTimeout(poll, RELAYED_IDLE_POLL_MS)
        t.unref()
        this.#timers.set(key, t)
        return
      }
      for (const c of relayed) void c.close().catch((err: Error) => this.#log(`closing an idle relayed connection to ${c.remotePeer} failed: ${err.message}`))
    }
    poll()
  }
}

export function holePunch(init: HolePunchInit): (components: HolePunchComponents) => HolePunch {
  return (components) => new HolePunch(components, init)
}
