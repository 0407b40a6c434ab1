/**
 * Hosts in memory for protocol tests without TCP: each implements ProtocolHost (main/net/
 * protocol-service.ts), and dialing a protocol another one handles opens a pair of real libp2p 3
 * Streams (@libp2p/utils' streamPair: a mock muxer over a connection pair, with its read-buffer
 * limit and back-pressure), hands one end to that host's handler and returns the other. Each host
 * has a made-up address (`address`), which `dial` takes, and which its peers see as `remoteAddr`.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import type { PeerId, Stream, StreamHandlerOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { InboundConnection, ProtocolHost } from '../../main/net/protocol-service.ts'

type Handler = (stream: Stream, connection: InboundConnection) => void | Promise<void>

export class MemoryNetwork {
  readonly #hosts = new Map<string, MemoryHost>()

  async host(): Promise<MemoryHost> {
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const host = new MemoryHost(this, peerId, `/ip4/127.0.0.1/tcp/${10_000 + this.#hosts.size}`)
    this.#hosts.set(peerId.toString(), host)
    return host
  }

  get(peer: PeerId | string): MemoryHost | undefined {
    return this.#hosts.get(peer.toString())
  }
}

export class MemoryHost implements ProtocolHost {
  readonly peerId: PeerId
  /** Where the others reach it: an address of no real network. */
  readonly address: string
  /** What each protocol was registered with (tests check the options). */
  readonly handlers = new Map<string, { handler: Handler; options: StreamHandlerOptions | undefined }>()
  /** Streams this host's handlers were given, per protocol. */
  readonly served = new Map<string, Stream[]>()
  readonly #net: MemoryNetwork

  constructor(net: MemoryNetwork, peerId: PeerId, address: string) {
    this.#net = net
    this.peerId = peerId
    this.address = address
  }

  /** Connects to the host at `addr`: its address and `/p2p/<its id>`. */
  async dial(addr: Multiaddr, options?: { signal?: AbortSignal }): Promise<{ remotePeer: PeerId }> {
    options?.signal?.throwIfAborted()
    const [where, id] = addr.toString().split('/p2p/')
    const remote = id === undefined ? undefined : this.#net.get(id)
    if (remote === undefined || remote.address !== where) throw new Error(`nothing listens at ${addr.toString()}`)
    return { remotePeer: remote.peerId }
  }

  async handle(protocol: string, handler: Handler, options?: StreamHandlerOptions): Promise<void> {
    if (this.handlers.has(protocol)) throw new Error(`a handler for ${protocol} is registered already`)
    this.handlers.set(protocol, { handler, options })
  }

  async unhandle(protocol: string): Promise<void> {
    this.handlers.delete(protocol)
  }

  async dialProtocol(peer: PeerId, protocol: string, options?: { signal?: AbortSignal }): Promise<Stream> {
    options?.signal?.throwIfAborted()
    const remote = this.#net.get(peer)
    if (remote === undefined) throw new Error(`no connection to ${peer}`)
    const entry = remote.handlers.get(protocol)
    if (entry === undefined) throw new Error(`protocol selection failed: ${peer} does not handle ${protocol}`)
    const [outbound, inbound] = await streamPair({ protocol })
    remote.served.set(protocol, [...(remote.served.get(protocol) ?? []), inbound])
    void Promise.resolve(entry.handler(inbound, { remotePeer: this.peerId, remoteAddr: { toString: () => this.address } })).catch(() => {})
    return outbound
  }
}
