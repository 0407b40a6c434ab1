/**
 * Framing and validation for Tandem's direct protocols: each message is length-prefixed dag-cbor,
 * bounded in size, read under a deadline, and checked against its zod schema before anyone looks
 * at it. A malformed message ends the exchange with a WireError; it never reaches the database.
 * A side that cannot go on says why in the one error frame (`errorFrame`), with a code of
 * shared/errors.ts; the other side turns it into a TandemError (`peerError`).
 */
import * as dagCbor from '@ipld/dag-cbor'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { z } from 'zod'
import { ERROR_CODES, TandemError, type ErrorCode } from '../../shared/errors.ts'
import type { BlockCID, CollectionID, DocID } from '../../shared/types.ts'
import { encodeCbor, slabAlloc } from '../db/cbor.ts'
import { ATTESTATION_BYTES } from '../db/attest.ts'

export class WireError extends Error {
  override name = 'WireError'
}

/**
 * The cap on each message from a peer that has proved nothing yet (the first messages of pairing
 * and nearby pairing): they hold a name, a nonce, a MAC — well under 2 KiB. A stranger can open
 * streams on many connections at once; each read costs it at most this much of our memory.
 */
export const MAX_PREAUTH_MESSAGE_BYTES = 4 * 1024

/** How long a refused stream stays open for the refusal to be read, before it is reset whatever the other side does. */
export const REFUSED_LINGER_MS = 1_000

/**
 * Answers a peer that may not use this protocol with `frame`, closes our side, and resets the
 * stream after REFUSED_LINGER_MS: a refused stranger that keeps its side open holds nothing here.
 */
export async function refuseWith(ch: Channel, frame: unknown): Promise<void> {
  // A stranger that hung up already cannot be told; its stream is closed and reset below all the same.
  await ch.send(frame).catch(() => {})
  await ch.close()
  setTimeout(() => ch.abort(new WireError('refused')), REFUSED_LINGER_MS).unref()
}

export interface ChannelOptions {
  /** Largest message accepted, in bytes. */
  maxMessageBytes: number
  /**
   * Largest message accepted until `authenticated()` is called (when the peer has proved what it
   * had to: a code, a person's acceptance), then `maxMessageBytes`. Until then the peer may not
   * send ahead either: more than one message's worth of unread bytes (say, after a refusal, when
   * nothing reads the stream any more) resets the stream. Default: no separate cap.
   */
  preAuthMessageBytes?: number
  /** Aborts reads and writes (e.g. AbortSignal.timeout for the whole exchange). */
  signal?: AbortSignal
}

export class Channel {
  readonly #lp: LengthPrefixedStream<Stream>
  readonly #stream: Stream
  readonly #signal: AbortSignal | undefined
  readonly #max: number
  /** The cap on the next message's length, checked as soon as its length prefix is read. */
  #cap: number
  /** Before authentication: bytes received, and bytes read out as messages (their prefixes included). */
  #received = 0
  #consumed = 0
  readonly #onData: ((evt: { data: { byteLength: number } }) => void) | undefined
  #closing: Promise<void> | null = null

  constructor(stream: Stream, options: ChannelOptions) {
    this.#stream = stream
    this.#signal = options.signal
    this.#max = options.maxMessageBytes
    this.#cap = Math.min(options.preAuthMessageBytes ?? this.#max, this.#max)
    this.#lp = lpStream(stream, { maxDataLength: this.#max, lengthDecoder: (data) => this.#length(data) })
    if (options.preAuthMessageBytes !== undefined) {
      // After lpStream's own listener, which has buffered these bytes: bound what sits unread.
      this.#onData = (evt) => {
        this.#received += evt.data.byteLength
        if (this.#received - this.#consumed > this.#cap + varintBytes(this.#cap)) {
          queueMicrotask(() => stream.abort(new WireError(`the other side sent over ${this.#cap} bytes ahead before authenticating`)))
        }
      }
      stream.addEventListener('message', this.#onData)
    }
  }

  /** The peer is authenticated: messages up to `maxMessageBytes` from now on, sent ahead as it likes. */
  authenticated(): void {
    this.#cap = this.#max
    if (this.#onData !== undefined) this.#stream.removeEventListener('message', this.#onData)
  }

  /**
   * The varint length prefix in `data` (unsigned LEB128, as lpStream writes it). A RangeError asks
   * lpStream for one more byte; a prefix longer than the cap needs, or a length over the cap, ends
   * the read there, before any of the message is buffered.
   */
  #length(data: { byteLength: number; get: (i: number) => number }): number {
    const room = varintBytes(this.#cap)
    let n = 0
    for (let i = 0; i < data.byteLength; i++) {
      const b = data.get(i)
      n += (b & 0x7f) * 2 ** (7 * i)
      if (b < 0x80) {
        if (n > this.#cap) throw new WireError(`a message of ${n} bytes is over the ${this.#cap}-byte limit`)
        return n
      }
      if (i + 1 >= room) throw new WireError(`a message is over the ${this.#cap}-byte limit`)
    }
    throw new RangeError('the length prefix goes on')
  }

  async send(message: unknown): Promise<void> {
    await this.#lp.write(encodeCbor(message), { signal: this.#signal })
  }

  /**
   * The next message, checked against `schema`. `fast`, when given, may read the bytes first and
   * return a value only where the general decode plus `schema` would give that same value (e.g.
   * `blocksFrame`); null hands the message to the general path.
   */
  async recv<T>(schema: z.ZodType<T>, fast?: (data: Uint8Array) => T | null): Promise<T> {
    let data
    try {
      data = await this.#lp.read({ signal: this.#signal })
    } catch (err) {
      if (err instanceof WireError) throw err // over the cap
      throw new WireError(`could not read a message: ${(err as Error).message}`)
    }
    this.#consumed += varintBytes(data.byteLength) + data.byteLength
    const bytes = data.subarray()
    if (fast !== undefined) {
      const quick = fast(bytes)
      if (quick !== null) return quick
    }
    let value: unknown
    try {
      value = dagCbor.decode(bytes)
    } catch {
      throw new WireError('a message was not valid dag-cbor')
    }
    const parsed = schema.safeParse(value)
    if (!parsed.success) throw new WireError(`malformed message: ${z.prettifyError(parsed.error).slice(0, 300)}`)
    return parsed.data
  }

  /**
   * Closes our side, once: a later call waits for the same close. A handler may end its exchange
   * early (then act on it) and leave the final close to ProtocolService without closing twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#stream.close({ signal: this.#signal }).catch(() => this.#stream.abort(new Error('close failed')))
    return this.#closing
  }

  abort(err: Error): void {
    this.#stream.abort(err)
  }
}

/** Bytes of the varint that encodes `n`. */
function varintBytes(n: number): number {
  let bytes = 1
  for (let x = n; x >= 0x80; x = Math.floor(x / 0x80)) bytes++
  return bytes
}

/** Longest error text a frame carries (every reader before the one frame capped it at 500). */
export const MAX_ERROR_CHARS = 500

/**
 * The one error frame of every protocol: a stable code (shared/errors.ts) and words for people.
 * `ok: false` is there for replication peers from before this frame, whose ack reader knows
 * `{ ok: false, error }`; every other older reader (`{ error }`, `{ t: 'error', error }`,
 * `{ t: 'error', code, error }`) finds its own keys in it and ignores the rest. So an older peer
 * reads it as the refusal or error it is, in the same words, never as an answer.
 */
export interface ErrorFrame {
  t: 'error'
  code: ErrorCode
  error: string
  ok: false
}

export function errorFrame(code: ErrorCode, message: string): ErrorFrame {
  return { t: 'error', code, error: message.slice(0, MAX_ERROR_CHARS), ok: false }
}

/**
 * What an error from a peer looks like to a reader: the frame above, or an older peer's shape
 * (`{ error }`, `{ ok: false, error }`, `{ t: 'error', error }`, with or without a code). Put it
 * in a reader's union after the shapes that carry data.
 */
export const peerErrorMessage = z.object({
  t: z.literal('error').optional(),
  ok: z.literal(false).optional(),
  code: z.string().max(64).optional(),
  error: z.string().max(MAX_ERROR_CHARS),
})
export type PeerErrorMessage = z.infer<typeof peerErrorMessage>

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES)

/**
 * A peer's error frame as a TandemError with the peer's code. An older peer's frame carries none:
 * `legacy` says what such a frame meant on this protocol. A code this version does not know (a newer
 * peer's) reads as INTERNAL. `details.remote` says the code is the peer's, not this device's.
 */
export function peerError(msg: PeerErrorMessage, context: string, legacy: ErrorCode): TandemError {
  const code = msg.code === undefined ? legacy : KNOWN_CODES.has(msg.code) ? msg.code as ErrorCode : 'INTERNAL'
  return new TandemError(code, `${context}: ${msg.error}`, { remote: true, ...(msg.code !== undefined && code !== msg.code ? { peerCode: msg.code } : {}) })
}

// Shared pieces of message schemas.
export const bytes = z.instanceof(Uint8Array)
/** A frame attestation (db/attest.ts), sent along with blocks. */
export const attestation = bytes.refine((b) => b.length === ATTESTATION_BYTES, 'an attestation of 64 bytes')
const CID = { min: 8, max: 128, pattern: /^b[a-z2-7]+$/ }
const DOC_ID = { min: 12, max: 132, pattern: /^bae-b[a-z2-7]+$/ }
export const cidString = z.string().min(CID.min).max(CID.max).regex(CID.pattern, 'a CID string')
export const docIDString = z.string().min(DOC_ID.min).max(DOC_ID.max).regex(DOC_ID.pattern, 'a docID')
/** `cidString`'s check, for a fast reader that checks by hand what the general path checks by zod. */
export function isCIDString(v: unknown): v is string {
  return fits(v, CID)
}
/** `docIDString`'s check, likewise. */
export function isDocIDString(v: unknown): v is string {
  return fits(v, DOC_ID)
}
function fits(v: unknown, id: { min: number; max: number; pattern: RegExp }): v is string {
  return typeof v === 'string' && v.length >= id.min && v.length <= id.max && id.pattern.test(v)
}
/**
 * IDs read off the wire, branded (shared/types.ts) once they passed their pattern: what a message
 * names past this point is typed as the ID it is, with no cast where it is used.
 */
export const collectionID = cidString.transform((s) => s as CollectionID)
export const blockCID = cidString.transform((s) => s as BlockCID)
export const docID = docIDString.transform((s) => s as DocID)

const BLOCKS_KEY = [0xa1, 0x66, ...new TextEncoder().encode('blocks')] // a map of one entry, "blocks"
// A map of two entries, "att" (64 bytes: a frame attestation, db/attest.ts) then "blocks" (dag-cbor's key order).
const ATT_KEY = [0xa2, 0x63, ...new TextEncoder().encode('att'), 0x58, ATTESTATION_BYTES]
const ATT_BYTES = ATTESTATION_BYTES

/**
 * A fast reader for frames of blocks, `{ blocks: [bytes, …] }` or `{ att: 64 bytes, blocks: […] }`,
 * with at most `max` blocks: each
 * block is copied out of the frame into a shared slab (no ArrayBuffer of its own, no token tree,
 * no schema walk over every block; each block is checked in full by the block verifier). Anything
 * else — other or extra keys, longer-than-needed or indefinite lengths, other item types, trailing
 * bytes — returns null and takes the general path (dag-cbor decode + zod), which decides as before.
 */
export function blocksFrame(max: number): (data: Uint8Array) => { blocks: Array<Uint8Array<ArrayBuffer>>; att?: Uint8Array<ArrayBuffer> } | null {
  return (data) => {
    let start = 0
    let att: Uint8Array<ArrayBuffer> | undefined
    if (data[0] === ATT_KEY[0]) {
      if (data.length < ATT_KEY.length + ATT_BYTES + BLOCKS_KEY.length) return null
      for (let i = 0; i < ATT_KEY.length; i++) if (data[i] !== ATT_KEY[i]) return null
      att = new Uint8Array(data.subarray(ATT_KEY.length, ATT_KEY.length + ATT_BYTES))
      start = ATT_KEY.length + ATT_BYTES - 1 // "blocks" follows, without the one-entry map head
    }
    if (data.length < start + BLOCKS_KEY.length + 1) return null
    for (let i = att === undefined ? 0 : 1; i < BLOCKS_KEY.length; i++) if (data[start + i] !== BLOCKS_KEY[i]) return null
    const at = { pos: start + BLOCKS_KEY.length }
    const n = shortestHead(data, at, 4)
    if (n < 0 || n > max || n > data.length - at.pos) return null
    const blocks = new Array<Uint8Array<ArrayBuffer>>(n)
    for (let i = 0; i < n; i++) {
      const len = shortestHead(data, at, 2)
      if (len < 0 || at.pos + len > data.length) return null
      const out = slabAlloc(len) as Uint8Array<ArrayBuffer> // slabs are plain ArrayBuffers
      out.set(data.subarray(at.pos, at.pos + len))
      blocks[i] = out
      at.pos += len
    }
    if (at.pos !== data.length) return null
    return att === undefined ? { blocks } : { att, blocks }
  }
}

/** The argument of the head at `at.pos` when it has major type `major` in its shortest form (up to 4 bytes), else -1. */
function shortestHead(data: Uint8Array, at: { pos: number }, major: number): number {
  if (at.pos >= data.length) return -1
  const first = data[at.pos]!
  if (first >> 5 !== major) return -1
  const info = first & 31
  const p = at.pos + 1
  if (info < 24) { at.pos = p; return info }
  if (info === 24 && p + 1 <= data.length && data[p]! >= 24) { at.pos = p + 1; return data[p]! }
  if (info === 25 && p + 2 <= data.length) {
    const n = (data[p]! << 8) | data[p + 1]!
    if (n < 0x100) return -1
    at.pos = p + 2
    return n
  }
  if (info === 26 && p + 4 <= data.length) {
    const n = ((data[p]! << 24) >>> 0) + (data[p + 1]! << 16) + (data[p + 2]! << 8) + data[p + 3]!
    if (n < 0x10000) return -1
    at.pos = p + 4
    return n
  }
  return -1
}
