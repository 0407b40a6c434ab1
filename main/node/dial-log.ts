/**
 * Dial attempts and why they failed, in plain words. `classifyDialError` reads libp2p 3's errors
 * (an AggregateError with one error per address, Node socket codes, Noise's identity check, the
 * connection gater, timeouts); `DialLog` keeps the last few attempts per peer, recorded by wrapping
 * the host's `dial` (so redials, `--peers` dials and pairing dials all count).
 */
import type { Libp2p } from 'libp2p'
import type { DialAttempt, DialErrorKind, DialFailure } from '../../shared/api/doctor.ts'

/** The most telling kind first: it names the attempt when several addresses failed differently. */
const PRIORITY: DialErrorKind[] = ['peer-id-mismatch', 'refused', 'no-route', 'timeout', 'reset', 'denied', 'no-address', 'other']

const TEXT: Record<DialErrorKind, string> = {
  'refused': 'Connection refused: the address answered, but nothing listens there (Tandem is not running there, or uses another port).',
  'timeout': 'Timed out: nothing answered in time (the device is off or asleep, or a firewall drops the traffic).',
  'no-route': 'No route to the address: it is on a network this device cannot reach (another LAN, or behind a NAT).',
  'peer-id-mismatch': 'A different device answered at this address.',
  'no-address': 'No address is known for this device.',
  'denied': 'The dial was not allowed here (this device is offline by choice, or the peer is blocked).',
  'reset': 'The connection was cut during the handshake.',
  'other': 'The dial failed.',
}

const NO_ROUTE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN'])
const RESET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])
const MISMATCH = /Payload identity key (\w+) does not match expected remote identity key (\w+)/

interface ErrLike { name?: unknown; code?: unknown; message?: unknown; errors?: unknown; cause?: unknown }

function one(err: ErrLike): DialFailure {
  const name = typeof err.name === 'string' ? err.name : ''
  const code = typeof err.code === 'string' ? err.code : ''
  const message = typeof err.message === 'string' ? err.message : String(err)
  const address = /connection error (\[[^\]]+\]:\d+|[^\s:]+:\d+)/.exec(message)?.[1]
  const at = address !== undefined ? { address } : {}
  const mismatch = MISMATCH.exec(message)
  if (mismatch !== null) {
    return { kind: 'peer-id-mismatch', text: `A different device answered (${mismatch[1]}) instead of ${mismatch[2]}.`, answeredBy: mismatch[1]!, ...at }
  }
  if (name === 'UnexpectedPeerError' || name === 'InvalidPeerIdError') return { kind: 'peer-id-mismatch', text: TEXT['peer-id-mismatch'], ...at }
  if (code === 'ECONNREFUSED') return { kind: 'refused', text: TEXT.refused, ...at }
  if (NO_ROUTE.has(code)) return { kind: 'no-route', text: `${TEXT['no-route']} (${code})`, ...at }
  if (RESET.has(code)) return { kind: 'reset', text: TEXT.reset, ...at }
  // libp2p aborts one address's dial when its own per-address timeout fires (6 s): an AbortError
  // (a dial cut short by our own deadline or by shutdown is a TimeoutError instead).
  if (code === 'ETIMEDOUT' || name === 'TimeoutError' || name === 'AbortError' || /timed? ?out/i.test(message)) {
    // Noise gave up: the socket opened, the handshake never finished.
    const text = name === 'EncryptionFailedError' ? 'Timed out in the handshake: something accepted the connection but never answered as a Tandem device.' : TEXT.timeout
    return { kind: 'timeout', text, ...at }
  }
  if (name === 'NoValidAddressesError') return { kind: 'no-address', text: TEXT['no-address'] }
  if (name === 'DialDeniedError' || name === 'ConnectionDeniedError' || name === 'ConnectionInterceptedError') return { kind: 'denied', text: TEXT.denied, ...at }
  if (err.cause !== undefined && err.cause !== null && typeof err.cause === 'object') {
    const inner = one(err.cause as ErrLike)
    if (inner.kind !== 'other') return { ...inner, ...(inner.address === undefined ? at : {}) }
  }
  return { kind: 'other', text: `${TEXT.other} ${message.slice(0, 200)}`.trim(), ...at }
}

/** Every address's failure (an AggregateError holds one per address), most telling first. */
export function classifyDialError(err: unknown): { kind: DialErrorKind; text: string; failures: DialFailure[] } {
  const e = (err ?? {}) as ErrLike
  const inner = Array.isArray(e.errors) && e.errors.length > 0 ? (e.errors as ErrLike[]) : [e]
  const failures = inner.map((x) => (Array.isArray(x.errors) && x.errors.length > 0 ? classifyDialError(x).failures : [one(x)])).flat()
  failures.sort((a, b) => PRIORITY.indexOf(a.kind) - PRIORITY.indexOf(b.kind))
  const top = failures[0]!
  return { kind: top.kind, text: top.text, failures }
}

/** The peer ID a dial target names: a PeerId, or the last /p2p/ of a multiaddr. */
function peerOfTarget(target: unknown): string | undefined {
  if (target === null || typeof target !== 'object') return undefined
  const t = target as { type?: unknown; getComponents?: () => Array<{ name: string; value?: string }>; toString: () => string }
  if (typeof t.getComponents === 'function') return t.getComponents().findLast((c) => c.name === 'p2p')?.value
  if (typeof t.type === 'string') return t.toString() // a PeerId
  return undefined
}

/** `ip:port` of a multiaddr (else the multiaddr without its /p2p/). */
export function addressText(ma: { getComponents: () => Array<{ name: string; value?: string }>; toString: () => string }): string {
  const parts = ma.getComponents()
  const ip = parts.find((c) => c.name === 'ip4' || c.name === 'ip6' || c.name === 'dns' || c.name === 'dns4' || c.name === 'dns6')
  const port = parts.find((c) => c.name === 'tcp' || c.name === 'udp')
  if (ip?.value !== undefined && port?.value !== undefined && !parts.some((c) => c.name === 'p2p-circuit')) {
    return ip.name === 'ip6' ? `[${ip.value}]:${port.value}` : `${ip.value}:${port.value}`
  }
  return ma.toString().replace(/\/p2p\/[^/]+$/, '')
}

/** The one address a dial target stands for, when there is exactly one. */
async function onlyAddress(host: Libp2p, target: unknown): Promise<string | undefined> {
  const t = target as { getComponents?: unknown; type?: unknown }
  if (typeof t?.getComponents === 'function') return addressText(target as Parameters<typeof addressText>[0])
  if (typeof t?.type !== 'string') return undefined
  const addrs = (await host.peerStore.get(target as Parameters<Libp2p['peerStore']['get']>[0])).addresses
  return addrs.length === 1 ? addressText(addrs[0]!.multiaddr) : undefined
}

const PER_PEER = 8
const MAX_PEERS = 512

export class DialLog {
  readonly #attempts = new Map<string, DialAttempt[]>()

  /** Records one attempt (newest kept first, a few per peer). */
  record(peer: string, attempt: DialAttempt): void {
    let list = this.#attempts.get(peer)
    if (list === undefined) {
      this.#attempts.set(peer, (list = []))
      while (this.#attempts.size > MAX_PEERS) this.#attempts.delete(this.#attempts.keys().next().value!)
    }
    list.unshift(attempt)
    if (list.length > PER_PEER) list.length = PER_PEER
  }

  /** The last attempts to `peer`, newest first. */
  of(peer: string): DialAttempt[] {
    return [...(this.#attempts.get(peer) ?? [])]
  }

  /** Records every `host.dial` from now on (the host keeps working exactly as before); returns what detaches it. */
  attach(host: Libp2p): () => void {
    const slot = host as unknown as { dial?: unknown }
    const hadOwn = Object.hasOwn(host, 'dial')
    const before = slot.dial
    const original = host.dial.bind(host) as (target: unknown, options?: unknown) => Promise<unknown>
    const log = this
    const wrapped = async function dial(target: unknown, options?: unknown): Promise<unknown> {
      const started = Date.now()
      const peer = peerOfTarget(Array.isArray(target) ? target[0] : target)
      const what = Array.isArray(target) ? target.map(String).join(' ') : String(target)
      try {
        const conn = await original(target, options)
        const remote = (conn as { remotePeer?: { toString: () => string } }).remotePeer?.toString()
        const key = remote ?? peer
        if (key !== undefined) log.record(key, { at: started, durationMs: Date.now() - started, ok: true, target: what })
        return conn
      } catch (err) {
        if (peer !== undefined) {
          const c = classifyDialError(err)
          // One address tried and the error did not name it (Noise's does not): name it from the target or the peer store.
          if (c.failures.length === 1 && c.failures[0]!.address === undefined) {
            // Naming the address is a nicety: the attempt is recorded all the same, and the dial's own error is what the caller gets.
            const only = await onlyAddress(host, target).catch(() => undefined)
            if (only !== undefined) c.failures[0]!.address = only
          }
          log.record(peer, { at: started, durationMs: Date.now() - started, ok: false, target: what, kind: c.kind, text: c.text, failures: c.failures })
        }
        throw err
      }
    }
    slot.dial = wrapped
    return () => {
      if (slot.dial !== wrapped) return // wrapped again since: that wrapper calls this one
      if (hadOwn) slot.dial = before
      else delete slot.dial
    }
  }
}
