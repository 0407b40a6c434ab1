/** Words for the Doctor panel: how a device is known, dial outcomes, severities, reachability. */
import type { DialAttempt, KnownBy, Reachability, Suggestion } from '../../../shared/api/index.ts'

const KNOWN_BY: Record<KnownBy, string> = {
  paired: 'paired here',
  introducer: 'introduced by another device',
  'known-address': 'known address',
  mdns: 'found on this network (mDNS)',
  relay: 'through a relay',
  inbound: 'it connected to us',
}

export function knownByText(list: KnownBy[]): string {
  return list.map((k) => KNOWN_BY[k] ?? k).join(' · ')
}

/** A dial in one line: "refused — Connection refused: … (10.0.0.2:9171)". */
export function dialText(d: DialAttempt): string {
  if (d.ok) return `connected in ${d.durationMs} ms`
  const addrs = [...new Set((d.failures ?? []).map((f) => f.address).filter((a) => a !== undefined))]
  return `${d.text ?? d.kind ?? 'failed'}${addrs.length > 0 ? ` (${addrs.join(', ')})` : ''}`
}

/** The pill class of a suggestion's severity. */
export function severityClass(s: Suggestion['severity']): 'bad' | 'warn' | 'muted' {
  return s === 'problem' ? 'bad' : s === 'warning' ? 'warn' : 'muted'
}

const REACH: Record<Reachability, { label: string; pill: 'good' | 'warn' | 'bad' | 'muted' }> = {
  public: { label: 'Public', pill: 'good' },
  'behind-nat': { label: 'Behind NAT', pill: 'warn' },
  'private-only': { label: 'Private network', pill: 'muted' },
  offline: { label: 'Offline', pill: 'bad' },
  unknown: { label: 'Unknown', pill: 'muted' },
}

export function reachabilityLabel(r: Reachability): { label: string; pill: 'good' | 'warn' | 'bad' | 'muted' } {
  return REACH[r] ?? REACH.unknown
}

/** "LAN direct · 1.2 ms", "relayed", or "not connected". */
export function pathText(d: { connected: boolean; pathText: string | null; rttMs: number | null }): string {
  if (!d.connected) return 'not connected'
  return [d.pathText ?? 'connected', d.rttMs !== null ? `${d.rttMs} ms` : null].filter((x) => x !== null).join(' · ')
}
