/**
 * Keeps this node's slots on its configured relays. libp2p's own "listen on <relay>/p2p-circuit"
 * makes one attempt at start (and fails the whole start if the relay is down) and never reserves
 * again once the relay restarts or first refused us. Instead the host listens on `/p2p-circuit`
 * (one per relay: the circuit transport then reserves on any connected relay it identifies), and
 * this keeper keeps a connection to each configured relay: dialed at start, redialed with backoff
 * after a drop, and — if connected without a reservation for a while (a Tandem relay refuses
 * devices outside its group until it learns of them) — hung up and redialed, which makes the
 * transport try again. `kick()` does that at once (e.g. when this device just joined a group).
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { ComponentLogger, Connection, Libp2pEvents, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, TransportManager } from '@libp2p/interface-internal'
import { Backoff } from './backoff.ts'
import { Redialer } from './redialer.ts'

export interface RelayKeeperInit {
  /** Relay multiaddrs, each ending in /p2p/<relay peer ID>. */
  relays: string[]
  /** First wait before asking a connected relay again for a slot it refused (ms; doubles up to a minute). */
  retryMs?: number
}

export interface RelayKeeperComponents {
  connectionManager: ConnectionManager
  addressManager: AddressManager
  transportManager: TransportManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface RelayStatus {
  relay: string
  connected: boolean
  reserved: boolean
  /** When the current slot was first seen (ms since epoch), or null. */
  reservedAt: number | null
}

const DEFAULT_RETRY_MS = 2_000
const MAX_RETRY_MS = 60_000
const CHECK_EVERY_MS = 1_000
const DIAL_TIMEOUT_MS = 10_000
/** Redials of a relay that dropped or could not be reached: the first after a second, then doubling up to a minute. */
const REDIAL_INITIAL_MS = 1_000
const REDIAL_MAX_MS = 60_000

export class RelayKeeper implements Startable {
  readonly #components: RelayKeeperComponents
  readonly #relays: Array<{ addr: Multiaddr; peer: PeerId; id: string }>
  readonly #init: RelayKeeperInit
  readonly #redialer: Redialer
  readonly #nextAsk = new Map<string, number>()
  readonly #askBackoff: Backoff
  readonly #reservedAt = new Map<string, number>()
  readonly #log: (msg: string) => void
  #check: NodeJS.Timeout | null = null
  #started = false

  constructor(components: RelayKeeperComponents, init: RelayKeeperInit) {
    this.#components = components
    this.#init = init
    this.#askBackoff = new Backoff({ initialMs: init.retryMs ?? DEFAULT_RETRY_MS, maxMs: MAX_RETRY_MS })
    this.#log = (msg) => components.logger.forComponent('tandem:relays')(msg)
    this.#redialer = new Redialer({
      initialMs: REDIAL_INITIAL_MS, maxMs: REDIAL_MAX_MS,
      dial: (id) => this.#dial(id),
      onError: (id, err) => this.#log(`relay ${id} unreachable: ${(err as Error).message}`),
    })
    this.#relays = init.relays.map((a) => {
      const addr = multiaddr(a)
      const id = addr.getComponents().findLast((c) => c.name === 'p2p')?.value
      if (id === undefined) throw new Error(`relay address ${a} lacks /p2p/<peer ID>`)
      return { addr, peer: peerIdFromString(id), id }
    })
  }

  readonly [Symbol.toStringTag] = 'tandem:relay-keeper'

  async start(): Promise<void> {
    this.#started = true
    this.#components.events.addEventListener('peer:disconnect', this.#onDisconnect)
    this.#redialer.start()
    for (const r of this.#relays) this.#redialer.schedule(r.id, 0)
    this.#check = setInterval(() => this.#checkReservations(), CHECK_EVERY_MS)
    this.#check.unref()
  }

  async stop(): Promise<void> {
    this.#started = false
    this.#components.events.removeEventListener('peer:disconnect', this.#onDisconnect)
    if (this.#check !== null) clearInterval(this.#check)
    this.#redialer.stop()
  }

  /** Relays, whether we are connected to each and hold a slot on it. */
  status(): RelayStatus[] {
    const reserved = this.#reservedRelays()
    for (const r of this.#relays) if (reserved.has(r.id) && !this.#reservedAt.has(r.id)) this.#reservedAt.set(r.id, Date.now())
    return this.#relays.map((r) => ({
      relay: r.addr.toString(),
      connected: this.#connections(r.peer).length > 0,
      reserved: reserved.has(r.id),
      reservedAt: this.#reservedAt.get(r.id) ?? null,
    }))
  }

  /**
   * Now, not at the next backoff step: redial relays we are not connected to, and ask those that
   * gave no slot again (e.g. this device just joined a group, or came back online).
   */
  kick(): void {
    for (const r of this.#relays) {
      this.#nextAsk.set(r.id, 0)
      this.#askBackoff.reset(r.id)
      if (this.#connections(r.peer).length === 0) this.#redialer.now(r.id)
    }
    this.#checkReservations()
  }

  #connections(peer: PeerId): Connection[] {
    return this.#components.connectionManager.getConnections(peer).filter((c) => c.status === 'open' && c.direct)
  }

  #reservedRelays(): Set<string> {
    const out = new Set<string>()
    for (const a of this.#components.addressManager.getAddresses()) {
      const parts = a.getComponents()
      const i = parts.findIndex((c) => c.name === 'p2p-circuit')
      if (i > 0 && parts[i - 1]!.name === 'p2p' && parts[i - 1]!.value !== undefined) out.add(parts[i - 1]!.value!)
    }
    return out
  }

  #checkReservations(): void {
    if (!this.#started) return
    const reserved = this.#reservedRelays()
    const now = Date.now()
    for (const r of this.#relays) {
      if (reserved.has(r.id)) {
        if (!this.#reservedAt.has(r.id)) {
          this.#reservedAt.set(r.id, now)
          this.#log(`slot reserved on relay ${r.id}`)
        }
        this.#nextAsk.delete(r.id)
        this.#askBackoff.reset(r.id)
        continue
      }
      this.#reservedAt.delete(r.id)
      const conns = this.#connections(r.peer)
      if (conns.length === 0) continue // the redial timer takes care of it
      const next = this.#nextAsk.get(r.id)
      if (next === undefined) {
        // Just connected: the circuit transport is asking by itself; look again a little later.
        this.#nextAsk.set(r.id, now + this.#askBackoff.next(r.id))
        continue
      }
      if (now < next) continue
      this.#nextAsk.set(r.id, now + this.#askBackoff.next(r.id))
      this.#askAgain(r.peer, conns)
    }
  }

  /**
   * The circuit transport's reservation store is not public API; where it is reachable we ask it
   * directly, which keeps relayed connections open. Otherwise a fresh connection to the relay makes
   * the transport identify it and ask for a slot again.
   */
  #askAgain(peer: PeerId, conns: Connection[]): void {
    const circuit = this.#components.transportManager.getTransports()
      .find((t) => (t as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === '@libp2p/circuit-relay-v2-transport') as
      { reservationStore?: { addRelay?: (p: PeerId, type: string) => Promise<unknown> } } | undefined
    const addRelay = circuit?.reservationStore?.addRelay
    if (typeof addRelay === 'function') {
      this.#log(`no slot on relay ${peer} yet: asking again`)
      addRelay.call(circuit!.reservationStore, peer, 'discovered').catch((err: Error) => this.#log(`relay ${peer} gave no slot: ${err.message}`))
      return
    }
    this.#log(`no slot on relay ${peer} yet: reconnecting to ask again`)
    void Promise.allSettled(conns.map((c) => c.close())).then(() => this.#redialer.schedule(peer.toString(), 0))
  }

  #onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const id = evt.detail.toString()
    if (this.#relays.some((r) => r.id === id)) this.#redialer.retry(id)
  }

  /** One attempt to reach relay `id` (the redialer's; it throws when the relay could not be reached). */
  async #dial(id: string): Promise<void> {
    const r = this.#relays.find((x) => x.id === id)
    if (r === undefined || !this.#started || this.#connections(r.peer).length > 0) return
    await this.#components.connectionManager.openConnection(r.addr, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
  }
}

export function relayKeeper(init: RelayKeeperInit): (components: RelayKeeperComponents) => RelayKeeper {
  return (components) => new RelayKeeper(components, init)
}
