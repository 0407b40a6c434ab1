/**
 * What every request/response protocol of Tandem does the same way, written once: it takes inbound
 * streams of its protocol (a few at a time per connection, relayed connections too), serves group
 * devices only, reads under a size cap and a deadline, closes the stream when done, answers a
 * failure with the one error frame (wire.ts), and gives its protocol back on stop. The asking side
 * opens the stream, runs its exchange, closes it, and aborts it on any failure.
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
  /** The whole exchange, so a stalled peer cannot hold a stream (and its memory) open; the dial gets as long. */
  timeoutMs: number
}

export interface ServiceOptions extends ExchangeLimits {
  protocol: string
  /** Streams of this protocol one connection may have open to us at once. */
  maxInboundStreams: number
  /** Peers served; any other gets an UNAUTHORIZED error frame and nothing else. */
  isMember: (peer: string) => boolean
  /** The protocol's Logger; a plain function (a service that still takes one) gets lines prefixed with `name`. */
  log?: Logger | LogFunction
  /** Names the protocol in logs ("dag-sync"). */
  name: string
}

/**
 * Serves one inbound exchange over `ch` (limited by the service's ExchangeLimits). The service closes
 * the channel after it returns. If it throws, the service answers with the error frame (the
 * TandemError's code, else INTERNAL) and closes; a WireError (the peer sent junk, or the stream
 * broke) ends the stream with no answer.
 */
export type Serve = (ch: Channel, peer: PeerId, stream: Stream) => Promise<void>

/** What a peer outside the group is told, whichever protocol it called. */
export const NOT_A_MEMBER = 'refused: not a device of this group'

export class ProtocolService implements Startable {
  readonly #host: ProtocolHost
  readonly #options: ServiceOptions
  readonly #serve: Serve
  readonly #log: Logger

  constructor(host: ProtocolHost, options: ServiceOptions, serve: Serve) {
    this.#host = host
    this.#options = options
    this.#serve = serve
    this.#log = toLogger(options.log, options.name)
  }

  get protocol(): string {
    return this.#options.protocol
  }

  async start(): Promise<void> {
    await this.#host.handle(this.#options.protocol, (stream, connection) => this.#handle(stream, connection), {
      maxInboundStreams: this.#options.maxInboundStreams, runOnLimitedConnection: true,
    })
  }

  async stop(): Promise<void> {
    await this.#host.unhandle(this.#options.protocol)
  }

  /** Opens this protocol on `peer` and runs `exchange` over it (see `request`); `limits` default to the service's. */
  request<T>(peer: PeerId, exchange: (ch: Channel) => Promise<T>, limits: ExchangeLimits = this.#options): Promise<T> {
    return request(this.#host, peer, this.#options.protocol, limits, exchange)
  }

  async #handle(stream: Stream, connection: InboundConnection): Promise<void> {
    const { maxMessageBytes, timeoutMs, isMember } = this.#options
    const peer = connection.remotePeer
    const member = isMember(peer.toString())
    // A stranger's bytes are bounded like any unauthenticated peer's (wire.ts), and its stream ends.
    const ch = new Channel(stream, { maxMessageBytes, signal: AbortSignal.timeout(timeoutMs), ...(member ? {} : { preAuthMessageBytes: MAX_PREAUTH_MESSAGE_BYTES }) })
    try {
      if (!member) {
        await refuseWith(ch, errorFrame('UNAUTHORIZED', NOT_A_MEMBER))
        return
      }
      await this.#serve(ch, peer, stream)
      await ch.close()
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
  const ch = new Channel(stream, { maxMessageBytes: limits.maxMessageBytes, signal: AbortSignal.timeout(limits.timeoutMs) })
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
