/**
 * The connectivity doctor: for each group device, how we know it, the last dial attempts and why
 * they failed (in plain words), the current path with its round-trip time, how the network sees this
 * device, and suggestions a person can act on. Browser-safe (types and zod only).
 */
import { z } from 'zod'
import { call } from './define.ts'
import type { PathKind } from './types.ts'

/** Why a dial failed, classified from libp2p's errors (main/node/dial-log.ts). */
export type DialErrorKind =
  | 'refused' | 'timeout' | 'no-route' | 'peer-id-mismatch' | 'no-address' | 'denied' | 'reset' | 'other'

export interface DialFailure {
  kind: DialErrorKind
  /** The reason in plain words. */
  text: string
  /** `ip:port` (or a multiaddr) the failure is about, when the error says. */
  address?: string
  /** For `peer-id-mismatch`: the peer ID that answered instead. */
  answeredBy?: string
}

export interface DialAttempt {
  at: number
  durationMs: number
  ok: boolean
  /** What was dialed: a multiaddr, or the peer ID (its known addresses). */
  target: string
  /** The most telling failure (absent when ok). */
  kind?: DialErrorKind
  text?: string
  /** Each address's failure, when several were tried. */
  failures?: DialFailure[]
}

/** How this device came to know a group device. */
export type KnownBy = 'paired' | 'introducer' | 'known-address' | 'mdns' | 'relay' | 'inbound'

export type SuggestionCode =
  | 'NETWORK_OFF' | 'NETWORK_PAUSED' | 'MDNS_NOTHING_FOUND' | 'NAT_NO_RELAY' | 'RELAY_DOWN' | 'DEVICE_OFFLINE'
  | 'NEVER_CONNECTED' | 'PEER_ID_MISMATCH' | 'NO_ADDRESS' | 'RELAYED_ONLY' | 'NO_DEVICES'

export interface Suggestion {
  code: SuggestionCode
  severity: 'info' | 'warning' | 'problem'
  /** What to do, for a person. */
  text: string
}

export type PathText = 'LAN direct' | 'internet direct' | 'relayed'

export interface DoctorDevice {
  peerID: string
  name: string
  knownBy: KnownBy[]
  /** Known addresses (stored, discovered, connected). */
  addresses: string[]
  connected: boolean
  path: PathKind | null
  pathText: PathText | null
  /** Measured by a ping now; else libp2p's last measurement; null when not connected. */
  rttMs: number | null
  lastSeen: number | null
  /** Newest first. */
  dials: DialAttempt[]
  suggestions: Suggestion[]
}

export type Reachability = 'public' | 'behind-nat' | 'private-only' | 'offline' | 'unknown'

export interface DoctorSelf {
  peerID: string
  network: 'off' | 'online' | 'paused'
  /** Addresses this device listens on / announces. */
  addresses: string[]
  /** Addresses other peers told us they saw us at (identify), newest first. */
  observed: Array<{ address: string; by: string; at: number }>
  reachability: Reachability
  reachabilityText: string
  relayServer: boolean
  relays: Array<{ relay: string; connected: boolean; reserved: boolean }>
  mdns: { enabled: boolean; found: number; lastFoundAt: number | null; since: number }
}

export interface DoctorReport {
  at: number
  self: DoctorSelf
  devices: DoctorDevice[]
  /** About this device and its network (not one device). */
  suggestions: Suggestion[]
}

export const doctorCalls = {
  'doctor.report': call<DoctorReport>()('Connectivity doctor: per device how we know it, dial errors, path and round-trip time, our reachability, suggestions.',
    z.object({
      /** Ping connected devices for a fresh round-trip time (default true). */
      ping: z.boolean().optional(),
    }).strict().optional()),
}
