/**
 * The libp2p 3 host of a Tandem node: TCP + Noise + Yamux, identify, ping, gossipsub, mDNS (off by
 * default in code; the daemon turns it on), the circuit-relay-v2 transport (and server, for a relay
 * node) and DCUtR. Its peer ID is the device key's, so it never changes across restarts.
 */
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { mdns } from '@libp2p/mdns'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { multiaddr } from '@multiformats/multiaddr'
import type { Ed25519PrivateKey, PeerDiscovery } from '@libp2p/interface'
import { TandemError } from '../../shared/errors.ts'

export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/9171']
// A relay serving its own group carries whole syncs: the library's 128 KiB / 2 min default cuts them off.
const RELAY_DATA_LIMIT = 1n << 32n // 4 GiB per relayed connection
const RELAY_DURATION_LIMIT_MS = 60 * 60 * 1000
const RELAY_MAX_RESERVATIONS = 64

export interface HostOptions {
  privateKey: Ed25519PrivateKey
  /** Multiaddrs to listen on (default /ip4/0.0.0.0/tcp/9171). */
  listen?: string[]
  /** Discover devices on the local network by mDNS. */
  mdns?: boolean
  /** Serve as a circuit relay for the group. */
  relayServer?: boolean
  /** Relays to reserve a slot on (their multiaddrs, with /p2p/<id>). */
  relays?: string[]
  /** Group membership, for gossipsub scoring: non-members are never meshed with nor gossiped to. */
  isMember: (peer: string) => boolean
  /** While true, no connection is made or accepted ("go offline"). */
  isPaused?: () => boolean
  /** Peers never to connect with, in either direction (blocked devices; tests of partitions). */
  isDenied?: (peer: string) => boolean
}

export type Host = Libp2p<{ pubsub: GossipSub } & Record<string, unknown>>

export async function createHost(options: HostOptions): Promise<Host> {
  const listen = [...(options.listen ?? DEFAULT_LISTEN)]
  for (const relay of options.relays ?? []) listen.push(`${checkMultiaddr(relay)}/p2p-circuit`)
  for (const a of listen) checkMultiaddr(a)
  const peerDiscovery: Array<(components: never) => PeerDiscovery> = []
  if (options.mdns === true) peerDiscovery.push(mdns({ serviceTag: 'tandem.local' }) as never)
  const services: Record<string, unknown> = {
    identify: identify(),
    ping: ping(),
    dcutr: dcutr(),
    pubsub: gossipsub({
      allowPublishToZeroTopicPeers: true, // a change made while alone is caught up by head exchange
      emitSelf: false,
      runOnLimitedConnection: true,
      scoreParams: {
        appSpecificScore: (peer: string) => (options.isMember(peer) ? 0 : -1000),
        appSpecificWeight: 1,
      },
    }),
  }
  if (options.relayServer === true) {
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: RELAY_MAX_RESERVATIONS,
        applyDefaultLimit: true,
        defaultDataLimit: RELAY_DATA_LIMIT,
        defaultDurationLimit: RELAY_DURATION_LIMIT_MS,
      },
    })
  }
  const paused = options.isPaused ?? (() => false)
  const denied = options.isDenied ?? (() => false)
  try {
    return await createLibp2p({
      privateKey: options.privateKey,
      addresses: { listen },
      transports: [tcp(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      peerDiscovery: peerDiscovery as never,
      services: services as never,
      connectionGater: {
        denyDialPeer: (peer) => paused() || denied(peer.toString()),
        denyDialMultiaddr: () => paused(),
        denyInboundConnection: () => paused(),
        denyOutboundConnection: (peer) => paused() || denied(peer.toString()),
        denyInboundEncryptedConnection: (peer) => denied(peer.toString()),
      },
    }) as Host
  } catch (err) {
    throw new TandemError('INVALID_INPUT', `The network could not start: ${(err as Error).message}`)
  }
}

export function checkMultiaddr(addr: string): string {
  try {
    return multiaddr(addr).toString()
  } catch {
    throw new TandemError('INVALID_INPUT', `"${String(addr).slice(0, 80)}" is not a multiaddr (like /ip4/127.0.0.1/tcp/9171/p2p/12D3KooW…).`)
  }
}
