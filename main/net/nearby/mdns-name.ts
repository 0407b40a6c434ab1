/**
 * Device names over mDNS. @libp2p/mdns answers with a PTR record `<peerName>.<serviceTag>` and TXT
 * records holding the node's multiaddrs; `peerName` is a random DNS label by default. Tandem makes
 * it `t1-<random>-<base32 of the device name>` so that a nearby device can be listed by name before
 * any connection. The random part comes first: the library drops answers whose name starts with
 * its own peerName (its own echo), so two devices with the same name never hide each other.
 * A name read from mDNS is only a hint for display: anyone on the LAN can claim any name.
 */
import { randomBytes } from 'node:crypto'
import { base32 } from 'multiformats/bases/base32'

const PREFIX = 't1-'
const LABEL_MAX = 63 // a DNS label
const RANDOM = 10
const NAME_RE = /^t1-[a-z0-9]{10}-([a-z2-7]*)$/

export function mdnsPeerName(deviceName: string): string {
  const rnd = [...randomBytes(RANDOM)].map((b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('')
  const room = Math.floor((LABEL_MAX - PREFIX.length - RANDOM - 1) * 5 / 8) // bytes that fit as base32
  let bytes = Buffer.from(deviceName, 'utf8')
  if (bytes.length > room) bytes = bytes.subarray(0, room)
  return `${PREFIX}${rnd}-${base32.encode(bytes).slice(1)}`
}

/** The device name in an mDNS peer name made by `mdnsPeerName`, or undefined. */
export function nameFromPeerName(peerName: string): string | undefined {
  const m = NAME_RE.exec(peerName)
  if (m === null || m[1] === '') return undefined
  try {
    const text = new TextDecoder().decode(base32.decode(`b${m[1]}`))
    // A name cut inside a UTF-8 sequence ends in U+FFFD; control characters are not shown.
    const clean = text.replace(/\uFFFD+$/, '').replace(/[\u0000-\u001f\u007f]/g, '').trim()
    return clean === '' ? undefined : clean
  } catch {
    return undefined
  }
}

interface Answer { type: string; name: string; data: unknown }
interface Packet { answers?: Answer[]; additionals?: Answer[] }
interface MulticastDns { on(e: 'response', fn: (p: Packet) => void): void; removeListener(e: 'response', fn: (p: Packet) => void): void }

/**
 * Listens for mDNS answers next to the libp2p mDNS service (it has no event carrying the peer name)
 * and reports (peer ID, device name). Returns a function that stops listening. Does nothing when
 * the service is absent or its internals differ (names then simply are not shown).
 */
export function watchMdnsNames(service: unknown, serviceTag: string, onName: (peerID: string, name: string) => void): () => void {
  const socket = (service as { mdns?: MulticastDns } | undefined)?.mdns
  if (socket === undefined || typeof socket.on !== 'function') return () => {}
  const listener = (packet: Packet): void => {
    try {
      const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])]
      const ptr = records.find((r) => r.type === 'PTR' && r.name === serviceTag)
      if (ptr === undefined || typeof ptr.data !== 'string' || !ptr.data.endsWith(`.${serviceTag}`)) return
      const name = nameFromPeerName(ptr.data.slice(0, -serviceTag.length - 1))
      if (name === undefined) return
      for (const r of records) {
        if (r.type !== 'TXT' || !Array.isArray(r.data)) continue
        for (const d of r.data as unknown[]) {
          const m = /^dnsaddr=.*\/p2p\/([1-9A-HJ-NP-Za-km-z]{40,60})$/.exec(String(d))
          if (m !== null) return onName(m[1]!, name)
        }
      }
    } catch { /* a packet we do not understand: no name */ }
  }
  socket.on('response', listener)
  return () => socket.removeListener('response', listener)
}
