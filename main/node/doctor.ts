/**
 * The connectivity doctor: a report of why devices do or do not connect, from what the node has
 * watched (./connectivity-watch.ts), its group records, its connections (true path, ../net/paths.ts)
 * and a fresh ping. The rules that turn facts into suggestions are pure (`deviceSuggestions`,
 * `selfSuggestions`) and tested on their own.
 */
import { networkInterfaces } from 'node:os'
import { isIPv4, isIPv6 } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import type { PathKind } from '../../shared/api/types.ts'
import type {
  DialAttempt, DoctorDevice, DoctorReport, DoctorSelf, KnownBy, PathText, Reachability, Suggestion,
} from '../../shared/api/doctor.ts'
import type { Connection } from '@libp2p/interface'
import { bestPath, classifyIpAddress, type PeerInfo } from '../net/paths.ts'
import type { RelayStatus } from '../net/relays.ts'
import type { DeviceRecord } from '../net/group.ts'
import type { ConnectivityWatch } from './connectivity-watch.ts'

/**
 * What the doctor reads of a running node: a narrow view, so the node depends on the doctor and
 * not the other way round (TandemNode builds one for each report).
 */
export interface DoctorSubject {
  readonly deviceID: string
  /** 'off' without a network, 'paused' while offline by choice. */
  readonly network: 'off' | 'paused' | 'online'
  addresses(): string[]
  peers(): PeerInfo[]
  devices(): readonly DeviceRecord[]
  connections(peer: string): Connection[]
  relays(): RelayStatus[]
  readonly relayServer: boolean
  /** Round-trip time to a connected peer (ms), or null when there is no ping service or it failed. */
  ping(peer: string, signal: AbortSignal): Promise<number | null>
}

/** mDNS asks at start and every ~10 s: after this long with nobody found, multicast is suspect. */
export const MDNS_GRACE_MS = 15_000
const PING_TIMEOUT_MS = 2_000

export interface DoctorOptions {
  ping?: boolean
  mdnsGraceMs?: number
  now?: number
}

const PATH_TEXT: Record<PathKind, PathText> = { lan: 'LAN direct', direct: 'internet direct', relayed: 'relayed' }

export function isPrivateIp(ip: string): boolean {
  if (isIPv4(ip)) {
    const [a, b] = ip.split('.').map(Number) as [number, number]
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
  }
  const l = ip.toLowerCase()
  return isIPv6(ip) && (l === '::1' || l.startsWith('fe80:') || l.startsWith('fc') || l.startsWith('fd'))
}

function ipOf(addr: string): string | undefined {
  try {
    return multiaddr(addr).getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')?.value
  } catch {
    return undefined
  }
}

function isCircuit(addr: string): boolean {
  return addr.includes('/p2p-circuit')
}

/** "5 min ago (16:40 UTC)". */
export function ago(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000))
  const rel = s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : s < 172_800 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86_400)} days ago`
  return `${rel} (${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC)`
}

export interface DeviceFacts {
  connected: boolean
  path: PathKind | null
  lastSeen: number | null
  /** Newest first. */
  dials: DialAttempt[]
  addresses: string[]
  foundByMdns: boolean
}

export interface SelfFacts {
  network: DoctorSelf['network']
  reachability: Reachability
  relaysConfigured: number
  relayServer: boolean
  /** Is this IP on one of our own subnets (a LAN we are on)? */
  onOurLan: (ip: string) => boolean
}

/** What a person can do about one device. */
export function deviceSuggestions(d: DeviceFacts, self: SelfFacts, now: number): Suggestion[] {
  if (self.network !== 'online') return [] // said once, for the whole device (selfSuggestions)
  if (d.connected) {
    return d.path === 'relayed'
      ? [{ code: 'RELAYED_ONLY', severity: 'info', text: 'Connected through the relay: no direct path was found (a strict NAT on one side?). Sync works, more slowly.' }]
      : []
  }
  const out: Suggestion[] = []
  const lastFailed = d.dials.find((a) => !a.ok)
  const mismatch = lastFailed?.failures?.find((f) => f.kind === 'peer-id-mismatch')
  if (mismatch !== undefined) {
    const where = mismatch.address !== undefined ? ` ${mismatch.address}` : ''
    return [{ code: 'PEER_ID_MISMATCH', severity: 'problem', text: `The address${where} answered with a different device — it may have been reinstalled; pair again.` }]
  }
  const ips = d.addresses.filter((a) => !isCircuit(a)).map(ipOf).filter((ip) => ip !== undefined)
  if (d.addresses.length === 0 && !d.foundByMdns) {
    out.push({ code: 'NO_ADDRESS', severity: 'problem', text: 'No address is known for this device — pair it again, or give both devices the same relay.' })
  } else if (ips.length > 0 && ips.every((ip) => isPrivateIp(ip) && !self.onOurLan(ip)) && !d.addresses.some(isCircuit) &&
    self.relaysConfigured === 0 && !self.relayServer && self.reachability !== 'public') {
    out.push({ code: 'NAT_NO_RELAY', severity: 'problem', text: 'Both devices are behind NAT and no relay is configured — add one (a node started with --relay-server on a public host; then start both devices with --relays <its address>).' })
  }
  if (d.lastSeen !== null) {
    const why = lastFailed?.kind !== undefined ? ` Last try: ${lastFailed.text ?? lastFailed.kind}` : ''
    out.push({ code: 'DEVICE_OFFLINE', severity: 'warning', text: `Device is offline — last seen ${ago(d.lastSeen, now)}. It is redialed by itself; start Tandem on it.${why}` })
  } else {
    out.push({ code: 'NEVER_CONNECTED', severity: 'warning', text: 'Never connected since pairing — start Tandem on it, on the same network or with the same relay.' })
  }
  return out
}

export interface SelfSuggestionFacts {
  network: DoctorSelf['network']
  mdns: DoctorSelf['mdns']
  relays: DoctorSelf['relays']
  devices: number
  uptimeMs: number
  mdnsGraceMs: number
}

/** What a person can do about this device and its network. */
export function selfSuggestions(f: SelfSuggestionFacts): Suggestion[] {
  if (f.network === 'off') return [{ code: 'NETWORK_OFF', severity: 'problem', text: 'The network is off (started with --no-p2p): start Tandem without it to sync.' }]
  if (f.network === 'paused') return [{ code: 'NETWORK_PAUSED', severity: 'warning', text: 'This device is offline by choice — go online to sync (This device → Go online, or `tandem client p2p resume`).' }]
  const out: Suggestion[] = []
  if (f.mdns.enabled && f.mdns.found === 0 && f.uptimeMs >= f.mdnsGraceMs) {
    out.push({ code: 'MDNS_NOTHING_FOUND', severity: 'warning', text: 'No device was found by mDNS on this network — multicast may be blocked; pair with a QR code instead.' })
  }
  const down = f.relays.filter((r) => !r.reserved)
  if (f.relays.length > 0 && down.length === f.relays.length) {
    out.push({ code: 'RELAY_DOWN', severity: 'problem', text: `No slot on any relay (${down.map((r) => r.relay).join(', ')}): ${down.some((r) => r.connected) ? 'the relay refuses a slot (is this device in its group?)' : 'the relay cannot be reached'} — devices outside this network cannot reach this one.` })
  }
  if (f.devices === 0) out.push({ code: 'NO_DEVICES', severity: 'info', text: 'No other device in this group yet — pair one with an invite (This device → Invite).' })
  return out
}

function ownIps(): Set<string> {
  const s = new Set<string>()
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) s.add(a.address)
  return s
}

/** How the network sees this device, from our addresses, identify's observed addresses and relay slots. */
export function reachabilityOf(input: { network: DoctorSelf['network']; addresses: string[]; observed: DoctorSelf['observed']; relays: DoctorSelf['relays']; own?: Set<string> }): { reachability: Reachability; text: string } {
  if (input.network !== 'online') return { reachability: 'offline', text: 'Offline: no other device can reach this one now.' }
  const own = input.own ?? ownIps()
  const reserved = input.relays.filter((r) => r.reserved).map((r) => r.relay)
  const viaRelay = reserved.length > 0 ? ` Devices elsewhere reach it through the relay (${reserved.join(', ')}).` : ''
  const direct = input.addresses.filter((a) => !isCircuit(a))
  const pub = direct.find((a) => { const ip = ipOf(a); return ip !== undefined && !isPrivateIp(ip) })
  if (pub !== undefined) return { reachability: 'public', text: `Public: other devices can dial it directly at ${pub}.${viaRelay}` }
  const natted = input.observed.find((o) => { const ip = isCircuit(o.address) ? undefined : ipOf(o.address); return ip !== undefined && !isPrivateIp(ip) && !own.has(ip) })
  if (natted !== undefined) {
    return { reachability: 'behind-nat', text: `Behind a NAT: peers see it at ${ipOf(natted.address)}, which is not an address of this machine; devices on other networks cannot dial it.${viaRelay || ' Add a relay so they can.'}` }
  }
  if (direct.length === 0 && reserved.length === 0) return { reachability: 'unknown', text: 'No address to be reached at.' }
  return { reachability: 'private-only', text: `Private addresses only: devices on this network can dial it; others only through a relay.${viaRelay}` }
}

async function pingMs(node: DoctorSubject, peer: string): Promise<number | null> {
  // No answer in time is a result here (the report shows no rtt), not an error to log.
  const ms = await node.ping(peer, AbortSignal.timeout(PING_TIMEOUT_MS)).catch(() => null)
  return ms === null ? null : Math.round(ms * 10) / 10
}

/** The doctor's report for a running node. */
export async function doctorReport(node: DoctorSubject, watch: ConnectivityWatch | null, options: DoctorOptions = {}): Promise<DoctorReport> {
  const now = options.now ?? Date.now()
  const network: DoctorSelf['network'] = node.network
  const relays = node.relays().map((r) => ({ relay: r.relay, connected: r.connected, reserved: r.reserved }))
  const relayServer = node.relayServer
  const addresses = node.addresses()
  const observed = watch?.observed.slice() ?? []
  const { reachability, text: reachabilityText } = reachabilityOf({ network, addresses, observed, relays })
  const mdns: DoctorSelf['mdns'] = {
    enabled: watch?.mdnsEnabled ?? false,
    found: watch?.mdnsFound.size ?? 0,
    lastFoundAt: watch === null || watch.mdnsFound.size === 0 ? null : Math.max(...watch.mdnsFound.values()),
    since: watch?.startedAt ?? now,
  }
  const selfFacts: SelfFacts = {
    network, reachability, relaysConfigured: relays.length, relayServer,
    onOurLan: (ip) => classifyIpAddress(ip) === 'lan',
  }
  const peerInfo = new Map(node.peers().map((p) => [p.peerID, p]))
  const devices = await Promise.all(node.devices().map(async (rec): Promise<DoctorDevice> => {
    const id = rec.deviceID
    const conns = node.connections(id)
    const best = bestPath(conns)
    const connected = conns.some((c) => c.status === 'open')
    const info = peerInfo.get(id)
    const knownBy = new Set<KnownBy>([rec.via === 'introducer' ? 'introducer' : 'paired'])
    if (rec.addrs.length > 0) knownBy.add('known-address')
    if (watch?.mdnsFound.has(id) === true || info?.discoveredBy.includes('mdns') === true) knownBy.add('mdns')
    if (watch?.inbound.has(id) === true) knownBy.add('inbound')
    if (best.connection === 'relayed' || rec.addrs.some(isCircuit)) knownBy.add('relay')
    const addrs = [...new Set([...(info?.addresses ?? []), ...rec.addrs])]
    let rttMs: number | null = null
    if (connected) rttMs = (options.ping !== false ? await pingMs(node, id) : null) ?? best.rttMs ?? null
    const dials = watch?.dials.of(id) ?? []
    const facts: DeviceFacts = { connected, path: best.connection, lastSeen: rec.lastSeen, dials, addresses: addrs, foundByMdns: knownBy.has('mdns') }
    return {
      peerID: id, name: rec.name, knownBy: [...knownBy], addresses: addrs, connected,
      path: best.connection, pathText: best.connection === null ? null : PATH_TEXT[best.connection], rttMs,
      lastSeen: rec.lastSeen, dials, suggestions: deviceSuggestions(facts, selfFacts, now),
    }
  }))
  const suggestions = selfSuggestions({
    network, mdns, relays, devices: devices.length, uptimeMs: now - (watch?.startedAt ?? now), mdnsGraceMs: options.mdnsGraceMs ?? MDNS_GRACE_MS,
  })
  return {
    at: now,
    self: { peerID: node.deviceID, network, addresses, observed, reachability, reachabilityText, relayServer, relays, mdns },
    devices,
    suggestions,
  }
}
