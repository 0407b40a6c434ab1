/**
 * The peer list: every peer this node knows of — group devices, peers connected now, peers found
 * on the LAN — with its addresses, the true path of its best connection (./paths.ts), whether it is
 * a paired device, and how we came to know it.
 */
import type { Connection, PeerDiscovery, Startable } from '@libp2p/interface'
import type { Host } from './host.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { bestPath, type DiscoveredBy, type PeerInfo } from './paths.ts'

export interface PeerListInit {
  host: Host
  /** Group devices now (paired, not removed) with their last known addresses. */
  devices: () => Array<{ deviceID: string; addrs: string[] }>
  /** Multiaddrs given to dial at start (--peers). */
  bootstrap?: string[]
  /** Relays we reserve slots on. */
  relays?: string[]
}

// A LAN peer that went quiet is dropped from the list after this long (mDNS re-announces every ~10 s).
const DISCOVERED_TTL_MS = 5 * 60_000
const MAX_TRACKED = 1024

function peerOf(addr: string): string | undefined {
  try {
    return multiaddr(addr).getComponents().findLast((c) => c.name === 'p2p')?.value
  } catch {
    return undefined
  }
}

export class PeerList implements Startable {
  readonly #init: PeerListInit
  readonly #self: string
  readonly #how = new Map<string, Set<DiscoveredBy>>()
  readonly #discovered = new Map<string, { addrs: string[]; at: number }>()
  readonly #fixed = new Map<string, DiscoveredBy>()

  readonly #mdns: PeerDiscovery | undefined

  constructor(init: PeerListInit) {
    this.#init = init
    this.#self = init.host.peerId.toString()
    for (const a of init.bootstrap ?? []) { const p = peerOf(a); if (p !== undefined) this.#fixed.set(p, 'bootstrap') }
    for (const a of init.relays ?? []) { const p = peerOf(a); if (p !== undefined) this.#fixed.set(p, 'relay') }
    // libp2p's own peer:discovery fires for any peer new to the peer store (identify, dials): only
    // the mDNS module's events say "found on the LAN". It is reachable when run as a service.
    this.#mdns = init.host.services.mdns
  }

  /** Notes peers found and connecting from now on. */
  start(): void {
    this.#mdns?.addEventListener('peer', this.#onMdns)
    this.#init.host.addEventListener('connection:open', this.#onOpen)
  }

  stop(): void {
    this.#mdns?.removeEventListener('peer', this.#onMdns)
    this.#init.host.removeEventListener('connection:open', this.#onOpen)
  }

  #onMdns = (e: Event): void => {
    const evt = e as CustomEvent<{ id: { toString: () => string }; multiaddrs: Array<{ toString: () => string }> }>
    const id = evt.detail.id.toString()
    if (id === this.#self) return
    this.#note(id, 'mdns')
    this.#discovered.set(id, { addrs: evt.detail.multiaddrs.map((m) => m.toString()), at: Date.now() })
    this.#trim()
  }

  #onOpen = (evt: CustomEvent<Connection>): void => {
    if (evt.detail.direction === 'inbound') this.#note(evt.detail.remotePeer.toString(), 'inbound')
  }

  /** A device learned from another one (group sync) rather than paired here. */
  noteIntroduced(peer: string): void {
    this.#note(peer, 'introducer')
  }

  #note(peer: string, how: DiscoveredBy): void {
    let s = this.#how.get(peer)
    if (s === undefined) this.#how.set(peer, (s = new Set()))
    s.add(how)
    this.#trim()
  }

  #trim(): void {
    const cutoff = Date.now() - DISCOVERED_TTL_MS
    for (const [p, d] of this.#discovered) if (d.at < cutoff) this.#discovered.delete(p)
    while (this.#how.size > MAX_TRACKED) this.#how.delete(this.#how.keys().next().value!)
    while (this.#discovered.size > MAX_TRACKED) this.#discovered.delete(this.#discovered.keys().next().value!)
  }

  list(): PeerInfo[] {
    const { host } = this.#init
    const devices = new Map(this.#init.devices().map((d) => [d.deviceID, d.addrs]))
    const ids = new Set<string>([...devices.keys(), ...this.#discovered.keys(), ...this.#fixed.keys()])
    for (const c of host.getConnections()) ids.add(c.remotePeer.toString())
    ids.delete(this.#self)
    const cutoff = Date.now() - DISCOVERED_TTL_MS
    const out: PeerInfo[] = []
    for (const id of ids) {
      const conns = host.getConnections().filter((c) => c.remotePeer.toString() === id)
      const disc = this.#discovered.get(id)
      if (conns.length === 0 && !devices.has(id) && !this.#fixed.has(id) && (disc === undefined || disc.at < cutoff)) continue
      const addresses = [...new Set([
        ...conns.filter((c) => c.status === 'open').map((c) => c.remoteAddr.toString()),
        ...(devices.get(id) ?? []),
        ...(disc?.addrs ?? []),
      ])]
      const how = new Set(this.#how.get(id) ?? [])
      const fixed = this.#fixed.get(id)
      if (fixed !== undefined) how.add(fixed)
      if (devices.has(id)) how.add('known') // a paired device: redialed from its stored addresses
      out.push({ peerID: id, addresses, ...bestPath(conns), paired: devices.has(id), discoveredBy: [...how].sort() })
    }
    return out.sort((a, b) => Number(b.paired) - Number(a.paired) || a.peerID.localeCompare(b.peerID))
  }
}
