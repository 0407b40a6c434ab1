/**
 * The libp2p 3 host of a Tandem node: TCP + Noise + Yamux, identify, ping, gossipsub, mDNS (off by
 * default in code; the daemon turns it on), the circuit-relay-v2 transport (and server, for a relay
 * node, with a STUN responder) and, for hole punching, WebRTC private-to-private (./hole-punch.ts)
 * with DCUtR kept for the port-forwarded case. Its peer ID is the device key's, so it never changes across restarts.
 */
import { createHash } from 'node:crypto'
import { createLibp2p, type Libp2p, type ServiceFactoryMap } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { mdns } from '@libp2p/mdns'
import { circuitRelayServer, circuitRelayTransport, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { webRTC } from '@libp2p/webrtc'
import { multiaddr } from '@multiformats/multiaddr'
import type { Ed25519PrivateKey, PeerDiscovery, ServiceMap } from '@libp2p/interface'
import { TandemError } from '../../shared/errors.ts'
import { relayKeeper, type RelayKeeper } from './relays.ts'
import { holePunch, type HolePunch, type HolePunchInit } from './hole-punch.ts'
import { DEFAULT_STUN_PORT, stunService, type StunService } from './stun-server.ts'
import { mdnsPeerName } from './nearby/mdns-name.ts'
import { MAX_DEVICES } from './group.ts'


/** Gossipsub's fast message ID: a hash of every field of the message as received, signature included. */
export function fastMsgID(msg: { from?: Uint8Array; data?: Uint8Array; seqno?: Uint8Array; topic: string; signature?: Uint8Array; key?: Uint8Array }): string {
  const h = createHash('sha256')
  // Each field with its length first, so that no two different messages hash the same bytes.
  for (const f of [msg.from, msg.seqno, msg.signature, msg.key, msg.data]) {
    const len = Buffer.allocUnsafe(4)
    len.writeUInt32BE(f?.length ?? 0xffffffff)
    h.update(len)
    if (f !== undefined) h.update(f)
  }
  h.update(msg.topic)
  return h.digest('base64')
}

export const MDNS_SERVICE_TAG = 'tandem.local'
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/9171']
// A relay serving its own group carries whole syncs: the library's 128 KiB / 2 min default cuts them off.
const RELAY_DATA_LIMIT = 1n << 32n // 4 GiB per relayed connection
const RELAY_DURATION_LIMIT_MS = 60 * 60 * 1000
const RELAY_MAX_RESERVATIONS = 64

/*
 * Connection limits, set here rather than left to libp2p's defaults (which are a library's guess
 * and change between versions). Each open connection costs memory (Noise and Yamux state, its
 * streams) whoever is at the other end, and inbound ones can come from anyone who reaches the port.
 */
/**
 * Open connections at most: a group has up to MAX_DEVICES devices, plus room for relays, devices
 * nearby and pairing. At the limit libp2p refuses new inbound connections, and prunes (the peers
 * with fewest streams first) when a dial of ours goes over it.
 */
const MAX_CONNECTIONS = MAX_DEVICES + 64
/** A relay server also holds a connection to every device that has a slot or dials through it. */
const RELAY_MAX_CONNECTIONS = 2 * MAX_DEVICES + RELAY_MAX_RESERVATIONS
/**
 * Inbound connections still in their handshake at once: each costs a Noise handshake before we
 * know who it is. A group reconnecting after a network change needs a few; more wait for the next try.
 */
const MAX_INCOMING_PENDING_CONNECTIONS = 16
const RELAY_MAX_INCOMING_PENDING_CONNECTIONS = 64
/**
 * New inbound connections a second from one IP address: a device opens one per peer, so a few is
 * plenty on a LAN. A relay sees many devices behind one home NAT coming back at the same time.
 */
const INBOUND_CONNECTION_THRESHOLD = 5
const RELAY_INBOUND_CONNECTION_THRESHOLD = 20

export interface HostOptions {
  privateKey: Ed25519PrivateKey
  /** Multiaddrs to listen on (default /ip4/0.0.0.0/tcp/9171). */
  listen?: string[]
  /** Discover devices on the local network by mDNS. */
  mdns?: boolean
  /** The device name other devices list this one by when they find it by mDNS. */
  mdnsName?: string
  /** Serve as a circuit relay for the group. */
  relayServer?: boolean
  /** Relays to reserve a slot on (their multiaddrs, with /p2p/<id>). */
  relays?: string[]
  /** Relay server: UDP port of its STUN responder (default 3478; null: no STUN). */
  stunPort?: number | null
  /** Relay server: give slots to group devices only (default true; others may still reach them through it). */
  relayGroupOnly?: boolean
  /**
   * STUN servers for ICE (`stun:host:port`). Default: each relay's host at `relayStunPort`, i.e. the
   * responder of our own relay-server node. Public STUN servers are never used.
   */
  stunServers?: string[]
  /** STUN port assumed on relays when `stunServers` is not given (default 3478). */
  relayStunPort?: number
  /** Hole punching by WebRTC (default on). */
  webrtc?: boolean
  /** Tuning of the WebRTC upgrade (tests shorten the delays). */
  holePunch?: Omit<HolePunchInit, 'isMember'>
  /** Addresses to announce besides the listen ones (a public IP the node cannot see, a port forward). */
  announce?: string[]
  /** Group membership, for gossipsub scoring: non-members are never meshed with nor gossiped to. */
  isMember: (peer: string) => boolean
  /** While true, no connection is made or accepted ("go offline"). */
  isPaused?: () => boolean
  /** Peers never to connect with, in either direction (blocked devices; tests of partitions). */
  isDenied?: (peer: string) => boolean
}

/**
 * The services of the host, as libp2p 3 types them; the optional ones run as HostOptions say.
 * (libp2p's ServiceMap, extended here, is what it takes for services: a record of them by name.)
 */
export interface HostServices extends ServiceMap {
  identify: Identify
  ping: Ping
  /** Direct connection upgrade through relays (DCUtR); nothing here calls it. */
  dcutr: unknown
  pubsub: GossipSub
  /** With relays to reserve a slot on (./relays.ts). */
  relayKeeper?: RelayKeeper
  /** Unless WebRTC is off (./hole-punch.ts). */
  holePunch?: HolePunch
  /** With mDNS on: its events say "found on the LAN" (nearby pairing, the peer list, the doctor). */
  mdns?: PeerDiscovery
  /** A relay-server node. */
  relay?: CircuitRelayService
  /** A relay-server node's STUN responder (./stun-server.ts). */
  stun?: StunService
}

export type Host = Libp2p<HostServices>

export async function createHost(options: HostOptions): Promise<Host> {
  const listen = [...(options.listen ?? DEFAULT_LISTEN)]
  for (const a of listen) checkMultiaddr(a)
  const relays = (options.relays ?? []).map(checkRelay)
  // One "any relay" listener per relay: the circuit transport reserves on relays as the keeper
  // connects to them (a configured <relay>/p2p-circuit would fail the start while the relay is down).
  for (const _ of relays) listen.push('/p2p-circuit')
  const useWebRTC = options.webrtc !== false
  const punching = new Set<string>()
  // A relay-server node is public: nobody needs to punch a hole to it.
  if (useWebRTC && options.relayServer !== true) listen.push('/webrtc')
  const announce = (options.announce ?? []).map(checkMultiaddr)
  if (options.relayServer === true) {
    // libp2p hides public addresses nobody confirmed; a relay must hand out its own in reservations.
    for (const a of listen) if (isFixedPublicListen(a)) announce.push(a)
  }
  const iceServers = options.stunServers ?? relays.map((r) => stunUrlOf(r, options.relayStunPort ?? DEFAULT_STUN_PORT)).filter((u) => u !== null)
  const peerDiscovery: Array<(components: never) => PeerDiscovery> = []
  const services: ServiceFactoryMap<HostServices> = {
    identify: identify(),
    ping: ping(),
    dcutr: dcutr(),
    ...(relays.length > 0 ? { relayKeeper: relayKeeper({ relays }) } : {}),
    ...(useWebRTC ? { holePunch: holePunch({ ...options.holePunch, isMember: options.isMember, punching }) } : {}),
    pubsub: gossipsub({
      allowPublishToZeroTopicPeers: true, // a change made while alone is caught up by head exchange
      emitSelf: false,
      runOnLimitedConnection: true,
      // A copy of a message already seen (forwarded by each other device of the mesh) is known by
      // the hash of its bytes before its signature is checked: at five devices those checks were an
      // eighth of a receiver's time. The hash covers the signature too, so a forged copy cannot
      // pass for the real message and make it be dropped as a duplicate.
      fastMsgIdFn: fastMsgID,
      // Gossipsub would tag a peer in the peer store at each mesh join and leave, one per topic: a
      // document that turns hot costs a peer-store write per device on both sides (a fifth of the
      // first edit of each document in W3). Group devices are tagged once on connect instead.
      tagMeshPeers: false,
      // A small mesh. A publisher sends each message to every device it is connected to
      // (floodPublish), and a group's devices connect to one another, so what a mesh peer forwards
      // is nearly always a copy the other device already has. With gossipsub's default degree (6)
      // five devices each received and sent three extra copies of every edit (W6: 14.0 ms of CPU
      // per edit over the five, 12.0 ms with this mesh). Dlo stays 2: a device that subscribes
      // is grafted at once by a device whose mesh is below it, so a device reached only through
      // another (tests/net/resync.test.ts, the A–B–C chain) gets the next message forwarded; with
      // Dlo 1 it waited for a heartbeat and missed what came meanwhile.
      D: 2, Dlo: 2, Dhi: 3, Dout: 1, Dscore: 1,
      // IDONTWANT ("I have this one, do not forward it") costs a message to each mesh peer per
      // edit and, between devices this close, arrives after the forward it was to stop: off.
      idontwantMinDataSize: Number.MAX_SAFE_INTEGER,
      // A stranger scores under the graylist (-80): all it sends is dropped, its subscriptions too.
      // A device that becomes a member while connected is welcomed (Gossip.welcome). Scoring
      // strangers just above the graylist would keep their subscriptions, but let any peer that
      // can connect have each of its messages' signatures checked and grow gossipsub's topic map
      // without bound (subscriptions are not capped in total).
      scoreParams: {
        appSpecificScore: (peer: string) => (options.isMember(peer) ? 0 : -1000),
        appSpecificWeight: 1,
      },
    }),
  }
  // As a service (libp2p wires its discovery all the same) so that nearby pairing can reach it.
  if (options.mdns === true) services.mdns = mdns({ serviceTag: MDNS_SERVICE_TAG, peerName: mdnsPeerName(options.mdnsName ?? '') })
  if (options.relayServer === true) {
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: RELAY_MAX_RESERVATIONS,
        applyDefaultLimit: true,
        defaultDataLimit: RELAY_DATA_LIMIT,
        defaultDurationLimit: RELAY_DURATION_LIMIT_MS,
      },
    })
    if (options.stunPort !== null) {
      const host = listen.map(hostOf).find((h) => h !== null && h !== '0.0.0.0' && h !== '::') ?? '0.0.0.0'
      services.stun = stunService({ host, port: options.stunPort ?? DEFAULT_STUN_PORT })
    }
  }
  const relayServer = options.relayServer === true
  const groupOnly = relayServer && options.relayGroupOnly !== false
  const paused = options.isPaused ?? (() => false)
  const denied = options.isDenied ?? (() => false)
  try {
    return await createLibp2p<HostServices>({
      privateKey: options.privateKey,
      addresses: { listen, appendAnnounce: [...new Set(announce)] },
      transports: [
        tcp(),
        circuitRelayTransport(),
        // ICE only against our own STUN (an empty list, not the library's public defaults, when none).
        ...(useWebRTC ? [webRTC({ rtcConfiguration: async () => ({ iceServers: iceServers.length > 0 ? [{ urls: iceServers }] : [] }) })] : []),
      ],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      peerDiscovery: peerDiscovery as never,
      services,
      connectionManager: {
        maxConnections: relayServer ? RELAY_MAX_CONNECTIONS : MAX_CONNECTIONS,
        maxIncomingPendingConnections: relayServer ? RELAY_MAX_INCOMING_PENDING_CONNECTIONS : MAX_INCOMING_PENDING_CONNECTIONS,
        inboundConnectionThreshold: relayServer ? RELAY_INBOUND_CONNECTION_THRESHOLD : INBOUND_CONNECTION_THRESHOLD,
      },
      connectionGater: {
        denyDialPeer: (peer) => paused() || denied(peer.toString()),
        // WebRTC is dialed only by the hole puncher (a group device, relayed only, one try at a time):
        // libp2p would otherwise dial every /webrtc address it learns, for every stream it opens.
        denyDialMultiaddr: (ma) => paused() || isRelayToItself(ma.toString()) || (isWebRTCAddr(ma.toString()) && !punching.has(lastPeer(ma.toString()) ?? '')),
        denyInboundConnection: () => paused(),
        denyOutboundConnection: (peer) => paused() || denied(peer.toString()),
        denyInboundEncryptedConnection: (peer, maConn) => denied(peer.toString()) || iceNotConnected(maConn),
        denyOutboundEncryptedConnection: (_peer, maConn) => iceNotConnected(maConn),
        denyInboundRelayReservation: (peer) => groupOnly && !options.isMember(peer.toString()),
      },
    })
  } catch (err) {
    throw new TandemError('INVALID_INPUT', `The network could not start: ${(err as Error).message}`)
  }
}

/**
 * A WebRTC connection handed to the upgrader before ICE connected: @libp2p/webrtc 6 upgrades the
 * answering side when the signalling stream ends, connected or not, and libp2p would then route
 * every new stream over that dead "direct" connection. Refuse it.
 */
function iceNotConnected(maConn: unknown): boolean {
  const pc = (maConn as { peerConnection?: { connectionState?: string } } | undefined)?.peerConnection
  return pc !== undefined && pc.connectionState !== 'connected'
}

function isWebRTCAddr(addr: string): boolean {
  return multiaddr(addr).getComponents().some((c) => c.name === 'webrtc')
}

function lastPeer(addr: string): string | undefined {
  return multiaddr(addr).getComponents().findLast((c) => c.name === 'p2p')?.value
}

/** `<relay>/p2p/R/p2p-circuit/…/p2p/R`: a circuit through a relay to that same relay, which peer stores pick up. */
function isRelayToItself(addr: string): boolean {
  const parts = multiaddr(addr).getComponents()
  const i = parts.findIndex((c) => c.name === 'p2p-circuit')
  if (i <= 0) return false
  const relay = parts[i - 1]?.name === 'p2p' ? parts[i - 1]!.value : undefined
  return relay !== undefined && parts.findLast((c) => c.name === 'p2p')?.value === relay
}

function checkRelay(addr: string): string {
  const a = checkMultiaddr(addr)
  if (!multiaddr(a).getComponents().some((c) => c.name === 'p2p')) {
    throw new TandemError('INVALID_INPUT', `The relay address ${a} must end with /p2p/<the relay's peer ID>.`)
  }
  return a
}

function hostOf(addr: string): string | null {
  const c = multiaddr(addr).getComponents()[0]
  return c !== undefined && ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(c.name) ? c.value ?? null : null
}

/** `stun:<relay host>:<port>` for a relay multiaddr (its first component names the host). */
export function stunUrlOf(relay: string, port: number): string | null {
  const c = multiaddr(relay).getComponents()[0]
  if (c?.value === undefined) return null
  if (c.name === 'ip6') return `stun:[${c.value}]:${port}`
  if (['ip4', 'dns', 'dns4', 'dns6'].includes(c.name)) return `stun:${c.value}:${port}`
  return null
}

/** A TCP listen address on one public IP and a fixed port: the relay's own public address. */
function isFixedPublicListen(addr: string): boolean {
  const parts = multiaddr(addr).getComponents()
  const ip = parts[0]
  const port = parts.find((c) => c.name === 'tcp')?.value
  if (ip === undefined || port === undefined || port === '0') return false
  if (ip.name === 'ip4') return ip.value !== '0.0.0.0' && !/^(10|127)\.|^192\.168\.|^172\.(1[6-9]|2\d|3[01])\.|^169\.254\./.test(ip.value ?? '')
  if (ip.name === 'ip6') return ip.value !== '::' && ip.value !== '::1' && !/^f[cde]/i.test(ip.value ?? '')
  return false
}

export function checkMultiaddr(addr: string): string {
  try {
    return multiaddr(addr).toString()
  } catch {
    throw new TandemError('INVALID_INPUT', `"${String(addr).slice(0, 80)}" is not a multiaddr (like /ip4/127.0.0.1/tcp/9171/p2p/12D3KooW…).`)
  }
}
