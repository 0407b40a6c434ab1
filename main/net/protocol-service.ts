/**
 * What every request/response protocol of Tandem does the same way, written once: it takes inbound
 * streams of its protocol (a few at a time per connection, relayed connections too), serves the
 * peers it is for (group devices; anyone, for pairing), reads under a size cap and a deadline,
 * closes the stream when done, answers a failure with the one error frame (wire.ts), and gives its
 * protocol back on stop. The asking side opens the stream, runs its exchange, closes it, and aborts
 * it on any failure. A protocol whose stream outlives its handler (nearby pairing: a person decides
 * within minutes) keeps the stream instead (`keepOpen`) and ends it itself.
 *
 * A protocol gets the host as the narrow `ProtocolHost` below (libp2p satisfies it; tests pass an
 * in-memory one), as hole-punch.ts and relays.ts get their components.
 */
import type { PeerId, Startable, Stream, StreamHandlerOptions } from '@libp2p/interface'
import { TandemError, type ErrorCode } from '../../shared/errors.ts'
import { Channel, errorFrame, MAX_PREAUTH_MESSAGE_BYTES, refuseWith, WireError } from './wire.ts'
import { reason, toLogger, type LogFunction, type Logger } from './logger.ts'

/** What a handler learns of the connection a stream came on. */
export interface InboundConnection {
  remotePeer: PeerId
  /** Where the peer is, as this device sees it (a multiaddr). */
  remoteAddr: { toString(): string }
}

/** Opens streams to peers (libp2p's `dialProtocol`). */
export interface Dialer {
  dialProtocol(peer: PeerId, protocol: string, options?: { signal?: AbortSignal; runOnLimitedConnection?: boolean }): Promise<Stream>
}

/** What a protocol needs of the host: take its inbound streams, and open streams to peers. */
export interface ProtocolHost extends Dialer {
  handle(protocol: string, handler: (stream: Stream, connection: InboundConnection) => void | Promise<void>, options?: StreamHandlerOptions): Promise<void>
  unhandle(protocol: string): Promise<void>
}

export interface ExchangeLimits {
  /** Largest message read, in bytes. */
  maxMessageBytes: number
  /**
   * Largest message read until the exchange calls `ch.authenticated()` (wire.ts ChannelOptions):
   * for a peer that has proved nothing yet, such as a device pairing. Default: no separate cap.
   */
  preAuthMessageBytes?: number
  /** The whole exchange, so a stalled peer cannot hold a stream (and its memory) open; the dial gets as long. */
  timeoutMs: number
}

interface ServiceBase {
  protocol: string
  /** Names the protocol in logs ("dag-sync"). */
  name: string
  /** Streams of this protocol one connection may have open to us at once. */
  maxInboundStreams: number
  /** Over relayed (limited) connections too. Default true. */
  runOnLimitedConnection?: boolean
  /**
   * Peers served; any other gets an UNAUTHORIZED error frame and nothing else, its stream read under
   * wire.ts's MAX_PREAUTH_MESSAGE_BYTES. `() => true` for a protocol strangers use (pairing).
   */
  isMember: (peer: string) => boolean
  /** The protocol's Logger; a plain function (a service that still takes one) gets lines prefixed with `name`. */
  log?: Logger | LogFunction
}

/** A request/response protocol: each inbound exchange is bounded by `timeoutMs`, and its stream closed after it. */
export interface ServiceOptions extends ServiceBase, ExchangeLimits {}

/**
 * A protocol whose inbound stream is the handler's (`KeptServe`): the service neither bounds it by a
 * deadline nor closes it when the handler returns. Its channel reads and writes until the
 * AbortController handed to the handler aborts (the handler sets its own deadlines with it) or the
 * handler ends the stream. `preAuthMessageBytes` applies to every peer.
 */
export interface KeptServiceOptions extends ServiceBase, Omit<ExchangeLimits, 'timeoutMs'> {
  keepOpen: true
}

/**
 * Serves one inbound exchange over `ch` (limited by the service's ExchangeLimits). The service closes
 * the channel after it returns. If it throws, the service answers with the error frame (the
 * TandemError's code, else INTERNAL) and closes; a WireError (the peer sent junk, or the stream
 * broke) ends the stream with no answer.
 */
export type Serve = (ch: Channel, peer: PeerId, stream: Stream, connection: InboundConnection) => Promise<void>

/**
 * Serves an inbound stream that may outlive the call (KeptServiceOptions): `controller` aborts the
 * channel's reads and writes. A throw is answered as for `Serve`.
 */
export type KeptServe = (ch: Channel, peer: PeerId, stream: Stream, connection: InboundConnection, controller: AbortController) => Promise<void>

/** What a peer outside the group is told, whichever protocol it called. */
export const NOT_A_MEMBER = 'refused: not a device of this group'

export class ProtocolService implements Startable {
  readonly #host: ProtocolHost
  readonly #options: ServiceOptions | KeptServiceOptions
  /** A `Serve` is called without the controller, which it does not take. */
  readonly #serve: (ch: Channel, peer: PeerId, stream: Stream, connection: InboundConnection, controller?: AbortController) => Promise<void>
  readonly #log: Logger

  constructor(host: ProtocolHost, options: ServiceOptions, serve: Serve)
  constructor(host: ProtocolHost, options: KeptServiceOptions, serve: KeptServe)
  constructor(host: ProtocolHost, options: ServiceOptions | KeptServiceOptions, serve: Serve | KeptServe) {
    this.#host = host
    this.#options = options
    this.#serve = serve as Serve
    this.#log = toLogger(options.log, options.name)
  }

  get protocol(): string {
    return this.#options.protocol
  }

  async start(): Promise<void> {
    await this.#host.handle(this.#options.protocol, (stream, connection) => this.#handle(stream, connection), {
      maxInboundStreams: this.#options.maxInboundStreams, runOnLimitedConnection: this.#options.runOnLimitedConnection ?? true,
    })
  }

  async stop(): Promise<void> {
    await this.#host.unhandle(this.#options.protocol)
  }

  /**
   * Opens this protocol on `peer` and runs `exchange` over it (see `request`); `limits` default to
   * the service's (a kept service has no deadline of its own: it names them).
   */
  request<T>(peer: PeerId, exchange: (ch: Channel) => Promise<T>, limits?: ExchangeLimits): Promise<T> {
    const options = this.#options
    const use = limits ?? ('timeoutMs' in options ? options : undefined)
    if (use === undefined) return Promise.reject(new TypeError(`${options.name}: a request needs its limits`))
    return request(this.#host, peer, options.protocol, use, exchange)
  }

  async #handle(stream: Stream, connection: InboundConnection): Promise<void> {
    const options = this.#options
    const { maxMessageBytes, isMember } = options
    const peer = connection.remotePeer
    const member = isMember(peer.toString())
    // A kept stream is the handler's: it lasts until the handler's controller aborts, or it ends it.
    const kept = 'timeoutMs' in options ? undefined : new AbortController()
    const signal = 'timeoutMs' in options ? AbortSignal.timeout(options.timeoutMs) : kept!.signal
    // A stranger's bytes are bounded like any unauthenticated peer's (wire.ts), and its stream ends.
    const preAuthMessageBytes = member ? options.preAuthMessageBytes : MAX_PREAUTH_MESSAGE_BYTES
    const ch = new Channel(stream, { maxMessageBytes, signal, ...(preAuthMessageBytes === undefined ? {} : { preAuthMessageBytes }) })
    try {
      if (!member) {
        await refuseWith(ch, errorFrame('UNAUTHORIZED', NOT_A_MEMBER))
        return
      }
      await this.#serve(ch, peer, stream, connection, kept)
      if (kept === undefined) await ch.close()
    } catch (err) {
      if (err instanceof WireError) {
        this.#log.info(`serving ${peer} failed: ${err.message}`)
        ch.abort(err)
        return
      }
      this.#log.warn(`serving ${peer} failed: ${reason(err)}`)
      // Our side failed (the database, most likely): say so, with a code, rather than leave the
      // asker to guess from a reset stream. A stream that broke takes no answer: then it ends here.
      try {
        await ch.send(errorFrame(codeOf(err), (err as Error).message ?? String(err)))
        await ch.close()
      } catch {
        ch.abort(err as Error)
      }
    }
  }
}

/**
 * Opens `protocol` on `peer` (relayed connections too) and runs `exchange` over a Channel with
 * `limits`: closes the channel after it returns, aborts it when it throws (then rethrows). A dial
 * that fails is an UNREACHABLE TandemError.
 */
export async function request<T>(host: Dialer, peer: PeerId, protocol: string, limits: ExchangeLimits, exchange: (ch: Channel) => Promise<T>): Promise<T> {
  let stream: Stream
  try {
    stream = await host.dialProtocol(peer, protocol, { signal: AbortSignal.timeout(limits.timeoutMs), runOnLimitedConnection: true })
  } catch (err) {
    throw new TandemError('UNREACHABLE', `could not open ${protocol} to ${peer}: ${(err as Error).message}`, { peer: peer.toString() })
  }
  const { maxMessageBytes, preAuthMessageBytes } = limits
  const ch = new Channel(stream, { maxMessageBytes, signal: AbortSignal.timeout(limits.timeoutMs), ...(preAuthMessageBytes === undefined ? {} : { preAuthMessageBytes }) })
  try {
    const result = await exchange(ch)
    await ch.close()
    return result
  } catch (err) {
    ch.abort(err as Error)
    throw err
  }
}

function codeOf(err: unknown): ErrorCode {
  return err instanceof TandemError ? err.code : 'INTERNAL'
}
