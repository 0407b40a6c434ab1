/**
 * What the connectivity doctor needs to have watched since the node started: dial attempts (./dial-log.ts),
 * peers found by mDNS, the addresses other peers saw us at (identify's observed address), and peers
 * that connected to us. Attached to the host once, before the node dials anything.
 */
import type { Host } from '../net/host.ts'
import { DialLog } from './dial-log.ts'

const MAX_TRACKED = 512
const MAX_OBSERVED = 16

export class ConnectivityWatch {
  readonly startedAt = Date.now()
  readonly dials = new DialLog()
  readonly mdnsEnabled: boolean
  /** Peer → when mDNS last found it. */
  readonly mdnsFound = new Map<string, number>()
  /** Newest first: an address some peer saw us at. */
  readonly observed: Array<{ address: string; by: string; at: number }> = []
  /** Peer → when it last connected to us (inbound). */
  readonly inbound = new Map<string, number>()

  constructor(host: Host) {
    const self = host.peerId.toString()
    this.dials.attach(host)
    const mdns = host.services.mdns
    this.mdnsEnabled = mdns !== undefined
    mdns?.addEventListener('peer', (evt) => {
      const id = evt.detail.id.toString()
      if (id !== self) bounded(this.mdnsFound, id, Date.now())
    })
    host.addEventListener('peer:identify', (evt) => {
      const addr = evt.detail.observedAddr
      // Over a relayed connection the peer saw the relay's circuit, which says nothing of our reachability.
      if (addr === undefined || addr.toString().includes('/p2p-circuit')) return
      const address = addr.toString().replace(/\/p2p\/[^/]+$/, '') // our own ID adds nothing
      const by = evt.detail.peerId.toString()
      const i = this.observed.findIndex((o) => o.address === address && o.by === by)
      if (i >= 0) this.observed.splice(i, 1)
      this.observed.unshift({ address, by, at: Date.now() })
      if (this.observed.length > MAX_OBSERVED) this.observed.length = MAX_OBSERVED
    })
    host.addEventListener('connection:open', (evt) => {
      if (evt.detail.direction === 'inbound') bounded(this.inbound, evt.detail.remotePeer.toString(), Date.now())
    })
  }
}

function bounded(map: Map<string, number>, key: string, value: number): void {
  map.delete(key)
  map.set(key, value)
  while (map.size > MAX_TRACKED) map.delete(map.keys().next().value!)
}
