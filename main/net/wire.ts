/**
 * Framing and validation for Tandem's direct protocols: each message is length-prefixed dag-cbor,
 * bounded in size, read under a deadline, and checked against its zod schema before anyone looks
 * at it. A malformed message ends the exchange with a WireError; it never reaches the database.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { z } from 'zod'
import { encodeCbor } from '../db/cbor.ts'

export class WireError extends Error {
  override name = 'WireError'
}

export interface ChannelOptions {
  /** Largest message accepted, in bytes. */
  maxMessageBytes: number
  /** Aborts reads and writes (e.g. AbortSignal.timeout for the whole exchange). */
  signal?: AbortSignal
}

export class Channel {
  readonly #lp: LengthPrefixedStream<Stream>
  readonly #stream: Stream
  readonly #signal: AbortSignal | undefined

  constructor(stream: Stream, options: ChannelOptions) {
    this.#stream = stream
    this.#signal = options.signal
    this.#lp = lpStream(stream, { maxDataLength: options.maxMessageBytes })
  }

  async send(message: unknown): Promise<void> {
    await this.#lp.write(encodeCbor(message), { signal: this.#signal })
  }

  async recv<T>(schema: z.ZodType<T>): Promise<T> {
    let data
    try {
      data = await this.#lp.read({ signal: this.#signal })
    } catch (err) {
      throw new WireError(`could not read a message: ${(err as Error).message}`)
    }
    let value: unknown
    try {
      value = dagCbor.decode(data.subarray())
    } catch {
      throw new WireError('a message was not valid dag-cbor')
    }
    const parsed = schema.safeParse(value)
    if (!parsed.success) throw new WireError(`malformed message: ${z.prettifyError(parsed.error).slice(0, 300)}`)
    return parsed.data
  }

  async close(): Promise<void> {
    await this.#stream.close({ signal: this.#signal }).catch(() => this.#stream.abort(new Error('close failed')))
  }

  abort(err: Error): void {
    this.#stream.abort(err)
  }
}

// Shared pieces of message schemas.
export const bytes = z.instanceof(Uint8Array)
export const cidString = z.string().min(8).max(128).regex(/^b[a-z2-7]+$/, 'a CID string')
export const docIDString = z.string().min(12).max(132).regex(/^bae-b[a-z2-7]+$/, 'a docID')
