/**
 * Incoming nearby requests per source address: at most MAX_PENDING_PER_SOURCE pending at once and
 * MAX_REQUESTS_PER_SOURCE_PER_MINUTE started per minute from one source. Peer IDs cost nothing to
 * make; addresses do, so a flood from many peer IDs on one machine takes two of the MAX_INCOMING
 * slots, not all of them, and a real device on another address still gets through.
 */
import { MAX_PENDING_PER_SOURCE, MAX_REQUESTS_PER_SOURCE_PER_MINUTE, MAX_SOURCES } from './constants.ts'

const MINUTE = 60_000

/**
 * The source of a connection's remote multiaddr: its IPv4 address, its IPv6 /64 (one machine is
 * given a whole /64), or for a relayed connection the relay's address (all of them share it).
 */
export function sourceOf(remoteAddr: string | undefined): string {
  if (remoteAddr === undefined) return 'unknown'
  const relayed = remoteAddr.includes('/p2p-circuit')
  const m = /^\/(ip4|ip6|dns4|dns6|dns)\/([^/]+)/.exec(remoteAddr)
  let host = m === null ? remoteAddr.slice(0, 200) : m[2]!.toLowerCase()
  if (m?.[1] === 'ip6') host = `${ip6Prefix(host)}::/64`
  return relayed ? `relay ${host}` : host
}

function ip6Prefix(addr: string): string {
  const [head = '', tail] = addr.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')
}

export type Admission = 'ok' | 'pending' | 'rate'

export class SourceLimits {
  readonly #starts = new Map<string, number[]>()
  readonly #pending = new Map<string, number>()

  /** Takes a request from `source` (counted until `release`), or says why not. */
  admit(source: string, now = Date.now()): Admission {
    const starts = (this.#starts.get(source) ?? []).filter((t) => t > now - MINUTE)
    if ((this.#pending.get(source) ?? 0) >= MAX_PENDING_PER_SOURCE) return 'pending'
    if (starts.length >= MAX_REQUESTS_PER_SOURCE_PER_MINUTE) return 'rate'
    if (!this.#starts.has(source) && this.#starts.size >= MAX_SOURCES) {
      this.#prune(now)
      if (this.#starts.size >= MAX_SOURCES) return 'rate'
    }
    starts.push(now)
    this.#starts.set(source, starts)
    this.#pending.set(source, (this.#pending.get(source) ?? 0) + 1)
    return 'ok'
  }

  release(source: string): void {
    const n = (this.#pending.get(source) ?? 0) - 1
    if (n > 0) this.#pending.set(source, n)
    else this.#pending.delete(source)
  }

  #prune(now: number): void {
    for (const [source, starts] of this.#starts) {
      if (!this.#pending.has(source) && starts.every((t) => t <= now - MINUTE)) this.#starts.delete(source)
    }
  }
}
