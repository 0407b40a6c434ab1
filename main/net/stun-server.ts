/**
 * A STUN responder (RFC 8489 Binding only, no authentication): tells whoever asks which address
 * and port its request came from (XOR-MAPPED-ADDRESS). That is all ICE needs from a STUN server to
 * find a device's public (server-reflexive) address behind a NAT, so a relay-server node can serve
 * its group's hole punching itself and no device ever asks a public STUN server.
 *
 * Anything that is not a well-formed Binding request is dropped without a reply. The reply is at
 * most 12 bytes longer than the request (IPv4) or 24 (IPv6), and requests are rate limited per
 * source, so the responder is no useful amplifier.
 */
import { createSocket, type Socket } from 'node:dgram'
import { isIPv4, isIPv6 } from 'node:net'

export const DEFAULT_STUN_PORT = 3478
export const MAGIC_COOKIE = 0x2112a442
export const BINDING_REQUEST = 0x0001
export const BINDING_SUCCESS = 0x0101
export const ATTR_XOR_MAPPED_ADDRESS = 0x0020
const HEADER_BYTES = 20
// A Binding request carries at most a few small attributes (SOFTWARE, FINGERPRINT, PRIORITY…).
const MAX_REQUEST_BYTES = 548
// ICE sends a handful of requests per candidate gathering; more from one source per second is abuse.
const MAX_REQUESTS_PER_SOURCE_PER_SECOND = 50

export interface StunServerOptions {
  /** Address to bind (default 0.0.0.0; an IPv6 address binds udp6). */
  host?: string
  /** UDP port (default 3478; 0 picks a free one). */
  port?: number
}

export interface StunStats {
  requests: number
  answered: number
  dropped: number
}

/** Parses a Binding request: its transaction ID, or null if the packet is not one. */
export function parseBindingRequest(msg: Uint8Array): Uint8Array | null {
  if (msg.length < HEADER_BYTES || msg.length > MAX_REQUEST_BYTES) return null
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength)
  const type = view.getUint16(0)
  const length = view.getUint16(2)
  if ((type & 0xc000) !== 0) return null // the two top bits of every STUN message are zero
  if (type !== BINDING_REQUEST) return null
  if (length % 4 !== 0 || HEADER_BYTES + length !== msg.length) return null
  if (view.getUint32(4) !== MAGIC_COOKIE) return null // RFC 3489 clients (no cookie) are not served
  // Walk the attributes so that a truncated or lying one makes the packet invalid.
  let off = HEADER_BYTES
  while (off < msg.length) {
    if (off + 4 > msg.length) return null
    const attrLen = view.getUint16(off + 2)
    off += 4 + Math.ceil(attrLen / 4) * 4
    if (off > msg.length) return null
  }
  return msg.slice(8, 20)
}

/** A Binding success response telling `address`:`port` to the request's sender. */
export function bindingSuccess(transactionId: Uint8Array, address: string, port: number): Buffer {
  const v4 = isIPv4(address)
  if (!v4 && !isIPv6(address)) throw new Error(`not an IP address: ${address}`)
  const addrBytes = v4 ? 4 : 16
  const attrLen = 4 + addrBytes
  const out = Buffer.alloc(HEADER_BYTES + 4 + attrLen)
  out.writeUInt16BE(BINDING_SUCCESS, 0)
  out.writeUInt16BE(4 + attrLen, 2)
  out.writeUInt32BE(MAGIC_COOKIE, 4)
  Buffer.from(transactionId).copy(out, 8)
  let off = HEADER_BYTES
  out.writeUInt16BE(ATTR_XOR_MAPPED_ADDRESS, off)
  out.writeUInt16BE(attrLen, off + 2)
  out.writeUInt8(0, off + 4)
  out.writeUInt8(v4 ? 0x01 : 0x02, off + 5)
  out.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), off + 6)
  off += 8
  const raw = v4 ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address)
  const key = out.subarray(4, 4 + addrBytes) // magic cookie, then (IPv6) the transaction ID
  for (let i = 0; i < addrBytes; i++) out[off + i] = raw[i]! ^ key[i]!
  return out
}

/** Reads XOR-MAPPED-ADDRESS from a Binding success response (used by tests and diagnostics). */
export function parseBindingSuccess(msg: Uint8Array): { transactionId: Uint8Array; address: string; port: number } | null {
  if (msg.length < HEADER_BYTES) return null
  const b = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength)
  if (b.readUInt16BE(0) !== BINDING_SUCCESS || b.readUInt32BE(4) !== MAGIC_COOKIE) return null
  if (HEADER_BYTES + b.readUInt16BE(2) !== b.length) return null
  let off = HEADER_BYTES
  while (off + 4 <= b.length) {
    const type = b.readUInt16BE(off)
    const len = b.readUInt16BE(off + 2)
    if (off + 4 + len > b.length) return null
    if (type === ATTR_XOR_MAPPED_ADDRESS && len >= 8) {
      const family = b.readUInt8(off + 5)
      const port = b.readUInt16BE(off + 6) ^ (MAGIC_COOKIE >>> 16)
      const n = family === 0x01 ? 4 : family === 0x02 ? 16 : 0
      if (n === 0 || len < 4 + n) return null
      const key = b.subarray(4, 4 + n)
      const raw = Buffer.alloc(n)
      for (let i = 0; i < n; i++) raw[i] = b[off + 8 + i]! ^ key[i]!
      const address = n === 4 ? [...raw].join('.') : (raw.toString('hex').match(/.{4}/g) ?? []).join(':')
      return { transactionId: b.subarray(8, 20), address, port }
    }
    off += 4 + Math.ceil(len / 4) * 4
  }
  return null
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::')
  const part = (s: string): string[] => (s === '' ? [] : s.split(':'))
  let groups = [...part(head)]
  let rest = part(tail)
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const v4tail = (rest.length > 0 ? rest : groups).at(-1)
  if (v4tail !== undefined && v4tail.includes('.')) {
    const o = v4tail.split('.').map(Number)
    const two = [((o[0]! << 8) | o[1]!).toString(16), ((o[2]! << 8) | o[3]!).toString(16)]
    if (rest.length > 0) rest = [...rest.slice(0, -1), ...two]
    else groups = [...groups.slice(0, -1), ...two]
  }
  const fill = address.includes('::') ? Array(8 - groups.length - rest.length).fill('0') : []
  const all = [...groups, ...fill, ...rest]
  const out = Buffer.alloc(16)
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}

export class StunServer {
  readonly #socket: Socket
  readonly #stats: StunStats = { requests: 0, answered: 0, dropped: 0 }
  readonly #perSource = new Map<string, number>()
  #window = 0
  #closed = false

  private constructor(socket: Socket) {
    this.#socket = socket
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo.address, rinfo.port))
    socket.on('error', () => { /* a bad send to one client must not stop the responder */ })
  }

  static async start(options: StunServerOptions = {}): Promise<StunServer> {
    const host = options.host ?? '0.0.0.0'
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: false })
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(options.port ?? DEFAULT_STUN_PORT, host, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    return new StunServer(socket)
  }

  get port(): number {
    return this.#socket.address().port
  }

  get address(): string {
    return this.#socket.address().address
  }

  stats(): StunStats {
    return { ...this.#stats }
  }

  #onMessage(msg: Buffer, address: string, port: number): void {
    this.#stats.requests++
    const second = Math.floor(Date.now() / 1000)
    if (second !== this.#window) {
      this.#window = second
      this.#perSource.clear()
    }
    const n = (this.#perSource.get(address) ?? 0) + 1
    this.#perSource.set(address, n)
    const txid = n <= MAX_REQUESTS_PER_SOURCE_PER_SECOND ? parseBindingRequest(msg) : null
    if (txid === null) {
      this.#stats.dropped++
      return
    }
    // A dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d: answer them as IPv4.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
    this.#socket.send(bindingSuccess(txid, mapped?.[1] ?? address, port), port, address)
    this.#stats.answered++
  }

  async stop(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()))
  }
}

/** The responder as a libp2p service: started and stopped with the host. */
export class StunService {
  readonly #options: StunServerOptions
  #server: StunServer | null = null

  constructor(options: StunServerOptions) {
    this.#options = options
  }

  readonly [Symbol.toStringTag] = 'tandem:stun'

  async start(): Promise<void> {
    this.#server = await StunServer.start(this.#options)
  }

  async stop(): Promise<void> {
    await this.#server?.stop()
    this.#server = null
  }

  get port(): number | null {
    return this.#server?.port ?? null
  }

  stats(): StunStats | null {
    return this.#server?.stats() ?? null
  }
}

export function stunService(options: StunServerOptions): () => StunService {
  return () => new StunService(options)
}
