/**
 * The true path of each connection, for the peer list: `lan`, `direct` or `relayed`.
 * - A circuit-relay connection is `relayed`.
 * - A WebRTC connection is judged by its ICE selected candidate pair, never by libp2p's `direct`
 *   flag (which says true even when a TURN server carries every byte): a `relay` candidate on
 *   either end → `relayed`; host ↔ host with the remote on one of our subnets → `lan`; else
 *   (server- or peer-reflexive: a punched hole) → `direct`.
 * - A TCP (or other IP) connection is `lan` when the remote address is loopback or private and on
 *   the subnet of one of our interfaces, else `direct`.
 */
import { networkInterfaces } from 'node:os'
import { BlockList, isIPv4, isIPv6 } from 'node:net'
import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type PathKind = 'lan' | 'direct' | 'relayed'
export type DiscoveredBy = 'mdns' | 'bootstrap' | 'relay' | 'known' | 'introducer' | 'inbound'

export interface PeerInfo {
  peerID: string
  addresses: string[]
  connection: PathKind | null
  paired: boolean
  discoveredBy: DiscoveredBy[]
  rttMs?: number
}

export interface CandidatePair {
  local: { type: string; address: string }
  remote: { type: string; address: string }
}

const RANK: Record<PathKind, number> = { lan: 3, direct: 2, relayed: 1 }

/** Subnets of this machine's interfaces (loopback included), refreshed at most every few seconds. */
let subnetCache: { at: number; list: BlockList } | null = null
export function localSubnets(): BlockList {
  if (subnetCache !== null && Date.now() - subnetCache.at < 5_000) return subnetCache.list
  const list = new BlockList()
  list.addSubnet('127.0.0.0', 8, 'ipv4')
  list.addAddress('::1', 'ipv6')
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      const [net, bits] = (a.cidr ?? '').split('/')
      if (net === undefined || bits === undefined) continue
      const family = a.family === 'IPv4' ? 'ipv4' : 'ipv6'
      try { list.addSubnet(a.address, Number(bits), family) } catch { /* odd interface: skip */ }
    }
  }
  subnetCache = { at: Date.now(), list }
  return list
}

function onLocalSubnet(ip: string, subnets: BlockList): boolean {
  if (isIPv4(ip)) return subnets.check(ip, 'ipv4')
  if (isIPv6(ip)) return subnets.check(ip, 'ipv6')
  return false
}

function isPrivate(ip: string): boolean {
  if (isIPv4(ip)) {
    const [a, b] = ip.split('.').map(Number) as [number, number]
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
  }
  const l = ip.toLowerCase()
  return l === '::1' || l.startsWith('fe80:') || l.startsWith('fc') || l.startsWith('fd')
}

/** The path of an ICE selected pair (see the module comment). */
export function classifyCandidatePair(pair: CandidatePair, subnets: BlockList = localSubnets()): PathKind {
  if (pair.local.type === 'relay' || pair.remote.type === 'relay') return 'relayed'
  if (pair.local.type === 'host' && pair.remote.type === 'host' && isPrivate(pair.remote.address) && onLocalSubnet(pair.remote.address, subnets)) return 'lan'
  return 'direct'
}

/** The path of a plain IP address we are connected to. */
export function classifyIpAddress(ip: string, subnets: BlockList = localSubnets()): PathKind {
  return isPrivate(ip) && onLocalSubnet(ip, subnets) ? 'lan' : 'direct'
}

function hasProto(ma: Multiaddr, name: string): boolean {
  return ma.getComponents().some((c) => c.name === name)
}

function ipOf(ma: Multiaddr): string | undefined {
  return ma.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')?.value
}

/** Parses an ICE candidate line (`candidate:… <ip> <port> typ <type> …`). */
export function parseCandidate(line: string): { type: string; address: string } | null {
  const parts = line.replace(/^a=/, '').trim().split(/\s+/)
  const typ = parts.indexOf('typ')
  if (typ < 0 || parts[typ + 1] === undefined || parts[4] === undefined) return null
  return { type: parts[typ + 1]!, address: parts[4]! }
}

/**
 * The ICE selected pair of a WebRTC connection. libp2p keeps the RTCPeerConnection on the
 * connection's (private) multiaddr connection; we read it through the standard
 * `sctp.transport.iceTransport.getSelectedCandidatePair()`.
 */
export function selectedPair(conn: Connection): CandidatePair | null {
  type Ice = { getSelectedCandidatePair?: () => { local?: { candidate?: string }; remote?: { candidate?: string } } | null }
  const pc = (conn as unknown as { maConn?: { peerConnection?: { sctp?: { transport?: { iceTransport?: Ice } } | null } } }).maConn?.peerConnection
  const pair = pc?.sctp?.transport?.iceTransport?.getSelectedCandidatePair?.()
  const local = parseCandidate(pair?.local?.candidate ?? '')
  const remote = parseCandidate(pair?.remote?.candidate ?? '')
  return local !== null && remote !== null ? { local, remote } : null
}

export function isWebRTC(conn: Connection): boolean {
  return hasProto(conn.remoteAddr, 'webrtc')
}

export function isRelayed(conn: Connection): boolean {
  return hasProto(conn.remoteAddr, 'p2p-circuit') && !isWebRTC(conn)
}

/** The true path of one open connection, or null when it cannot be told (a WebRTC one not yet up). */
export function classifyConnection(conn: Connection, subnets: BlockList = localSubnets()): PathKind | null {
  if (isWebRTC(conn)) {
    const pair = selectedPair(conn)
    return pair === null ? null : classifyCandidatePair(pair, subnets)
  }
  if (hasProto(conn.remoteAddr, 'p2p-circuit')) return 'relayed'
  const ip = ipOf(conn.remoteAddr)
  return ip === undefined ? null : classifyIpAddress(ip, subnets)
}

/** The best path among a peer's open connections (lan over direct over relayed), with its rtt. */
export function bestPath(conns: Connection[]): { connection: PathKind | null; rttMs?: number } {
  let best: { kind: PathKind; conn: Connection } | null = null
  const subnets = localSubnets()
  for (const c of conns) {
    if (c.status !== 'open') continue
    const kind = classifyConnection(c, subnets)
    if (kind !== null && (best === null || RANK[kind] > RANK[best.kind])) best = { kind, conn: c }
  }
  if (best === null) return { connection: null }
  const rtt = best.conn.rtt
  return typeof rtt === 'number' && Number.isFinite(rtt) ? { connection: best.kind, rttMs: Math.round(rtt * 10) / 10 } : { connection: best.kind }
}
