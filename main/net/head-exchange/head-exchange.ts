/**
 * Head exchange: two group devices find out, cheaply, which documents differ. The asker sends a
 * digest per collection; for shared collections whose digests differ the answerer returns its 256
 * bucket digests; the asker names the buckets that differ and receives the answerer's heads of every
 * document in them. Equal collections cost one digest each, and a large collection with a few
 * changed documents costs a few buckets. Both devices run it when they connect (each pulling what it
 * lacks), which is what resyncs offline edits.
 */
import type { PeerId } from '@libp2p/interface'
import { z } from 'zod'
import { BUCKETS, BUCKET_BYTES, bucketDigest } from '../../db/digest.ts'
import type { BlockCID, CollectionID, DocID } from '../../../shared/types.ts'
import { bytes, type Channel, collectionID, peerError, peerErrorMessage } from '../wire.ts'
import { onlyFirstBlock } from '../../db/block.ts'
import { docsOf, HeadsFrame, readHeadsFrame } from './frames.ts'
import type { Logger } from '../logger.ts'
import { ProtocolService, type ProtocolHost } from '../protocol-service.ts'
import { FRAME_DOCS, MAX_COLLECTIONS, MAX_INBOUND_STREAMS, MAX_MESSAGE_BYTES, PROTOCOL, TIMEOUT_MS } from './constants.ts'

const Digests = z.object({
  v: z.literal(1),
  cols: z.array(z.object({ id: collectionID, d: bytes })).max(MAX_COLLECTIONS),
  // The frames the asker reads: 2 and above, compact ones (frames.ts); absent, the first shape.
  // A device from before compact frames drops this key (zod drops keys it does not know) and
  // answers with the first shape, which this version still reads.
  f: z.number().int().optional(),
})
/** The frame shape this version asks for (frames.ts: compact). */
const COMPACT_FRAMES = 2
const Buckets = z.union([
  z.object({
    cols: z.array(z.object({ id: collectionID, buckets: bytes.refine((b) => b.length === BUCKETS * BUCKET_BYTES) })).max(MAX_COLLECTIONS),
    unknown: z.array(collectionID).max(MAX_COLLECTIONS),
  }),
  peerErrorMessage,
])
const Want = z.object({
  want: z.array(z.object({ id: collectionID, buckets: z.array(z.number().int().min(0).max(BUCKETS - 1)).max(BUCKETS) })).max(MAX_COLLECTIONS),
})

export interface RemoteHeads {
  /** Per shared collection that differs: the buckets that differ and the peer's heads in them. */
  differing: Map<CollectionID, { buckets: number[]; docs: Array<{ docID: DocID; heads: BlockCID[] }> }>
  /** Collections we asked about that the peer does not have. */
  unknown: CollectionID[]
  /** Collections compared. */
  compared: number
}

/** What head exchange reads of the database (Database satisfies it). */
export interface HeadStore {
  /** Per collection held here, the digest of its heads (db/digest.ts). */
  collectionDigests(): Promise<Map<CollectionID, Uint8Array>>
  /** A collection's BUCKETS bucket digests, BUCKET_BYTES each. */
  bucketDigests(collection: CollectionID): Promise<Uint8Array>
  /** Heads of every document of the collection in these buckets. */
  bucketHeads(collection: CollectionID, buckets: readonly number[]): Promise<Array<{ docID: DocID; heads: BlockCID[] }>>
  /** The same heads a page at a time, as they are read. */
  bucketHeadsPages(collection: CollectionID, buckets: readonly number[]): AsyncIterable<Array<{ docID: DocID; heads: BlockCID[] }>>
}

export interface HeadExchangeComponents {
  host: ProtocolHost
  db: HeadStore
}

export interface HeadExchangeInit {
  isMember: (peer: string) => boolean
  log?: Logger
}

export class HeadExchange {
  readonly #db: HeadStore
  readonly #service: ProtocolService

  constructor(components: HeadExchangeComponents, init: HeadExchangeInit) {
    this.#db = components.db
    this.#service = new ProtocolService(components.host, {
      protocol: PROTOCOL, name: 'head-exchange', maxInboundStreams: MAX_INBOUND_STREAMS, maxMessageBytes: MAX_MESSAGE_BYTES, timeoutMs: TIMEOUT_MS,
      isMember: init.isMember, log: init.log,
    }, (ch) => this.#serve(ch))
  }

  async start(): Promise<void> {
    await this.#service.start()
  }

  async stop(): Promise<void> {
    await this.#service.stop()
  }

  async #serve(ch: Channel): Promise<void> {
    const { cols, f } = await ch.recv(Digests)
    const compact = f !== undefined && f >= COMPACT_FRAMES
    const mine = await this.#db.collectionDigests()
    const differing: Array<{ id: CollectionID; buckets: Uint8Array }> = []
    const unknown: CollectionID[] = []
    for (const { id, d } of cols) {
      const local = mine.get(id)
      if (local === undefined) unknown.push(id)
      else if (Buffer.compare(local, d) !== 0) differing.push({ id, buckets: await this.#db.bucketDigests(id) })
    }
    await ch.send({ cols: differing, unknown })
    if (differing.length === 0) return
    const { want } = await ch.recv(Want)
    const frame = compact ? new CompactFrame() : new FullFrame()
    let sent = false
    for (const { id, buckets } of want) {
      if (!mine.has(id)) continue
      // Frames leave as the heads are read (the next page is read meanwhile), so the asker plans
      // and fetches on the first ones while the rest come.
      for await (const page of this.#db.bucketHeadsPages(id, buckets)) {
        for (const { docID, heads } of page) {
          const full = frame.add(id, docID, heads)
          if (full !== null) { await ch.send(full); sent = true }
          if (frame.size >= FRAME_DOCS) { await ch.send(frame.take()); sent = true }
        }
        // The first frame leaves after the first page, however short.
        if (!sent && frame.size > 0) { await ch.send(frame.take()); sent = true }
      }
    }
    if (frame.size > 0) await ch.send(frame.take())
    await ch.send({ done: true })
  }

  /**
   * Asks `peer` which documents of these collections (default: all of ours) differ, and their heads
   * there. `onDocs` hears each frame's documents as it arrives (per collection), so the caller can
   * act on the first ones while the rest still come; the result has them all.
   */
  async compare(peer: PeerId, collections?: CollectionID[], onDocs?: (collection: CollectionID, docs: Array<{ docID: DocID; heads: BlockCID[] }>) => void): Promise<RemoteHeads> {
    const all = await this.#db.collectionDigests()
    const ids = collections ?? [...all.keys()]
    const result: RemoteHeads = { differing: new Map(), unknown: [], compared: ids.length }
    if (ids.length === 0) return result
    return this.#service.request(peer, async (ch) => {
      await ch.send({ v: 1, cols: ids.slice(0, MAX_COLLECTIONS).map((id) => ({ id, d: all.get(id)! })), f: COMPACT_FRAMES })
      const answer = await ch.recv(Buckets)
      if ('error' in answer) throw peerError(answer, 'peer answered', 'UNAUTHORIZED')
      result.unknown = answer.unknown.filter((id) => ids.includes(id))
      const want: Array<{ id: CollectionID; buckets: number[] }> = []
      for (const { id, buckets } of answer.cols) {
        if (!all.has(id)) continue
        const local = await this.#db.bucketDigests(id)
        const diff: number[] = []
        for (let b = 0; b < BUCKETS; b++) {
          if (Buffer.compare(bucketDigest(local, b), bucketDigest(buckets, b)) !== 0) diff.push(b)
        }
        if (diff.length > 0) {
          want.push({ id, buckets: diff })
          result.differing.set(id, { buckets: diff, docs: [] })
        }
      }
      if (answer.cols.length === 0) return result
      await ch.send({ want })
      for (;;) {
        const frame = await ch.recv(HeadsFrame, readHeadsFrame)
        if ('error' in frame) throw peerError(frame, 'peer answered', 'INTERNAL')
        if ('done' in frame) break
        // Either shape: a device from before compact frames answers with the first.
        for (const [c, docs] of docsOf(frame)) {
          const entry = result.differing.get(c)
          if (entry === undefined) continue // not a collection this device asked about
          for (const doc of docs) entry.docs.push(doc)
          onDocs?.(c, docs)
        }
      }
      return result
    })
  }
}

/** A frame being filled, of the first shape: `{ docs: [{ c, d, h }] }`. */
class FullFrame {
  #docs: Array<{ c: CollectionID; d: DocID; h: BlockCID[] }> = []

  get size(): number {
    return this.#docs.length
  }

  /** Adds a document (never a frame to send first: this shape mixes collections). */
  add(c: CollectionID, d: DocID, h: BlockCID[]): null {
    this.#docs.push({ c, d, h })
    return null
  }

  take(): { docs: Array<{ c: CollectionID; d: DocID; h: BlockCID[] }> } {
    const docs = this.#docs
    this.#docs = []
    return { docs }
  }
}

/** A compact frame being filled (frames.ts): one collection a frame. */
class CompactFrame {
  #c: CollectionID | null = null
  #g: DocID[] = []
  #o: Array<{ d: DocID; h: BlockCID[] }> = []

  get size(): number {
    return this.#g.length + this.#o.length
  }

  /** Adds a document; when it is of another collection than the frame's, the frame so far comes back, to send first. */
  add(c: CollectionID, d: DocID, h: BlockCID[]): { c: CollectionID; g: DocID[]; o: Array<{ d: DocID; h: BlockCID[] }> } | null {
    const before = this.#c !== c && this.size > 0 ? this.take() : null
    this.#c = c
    if (onlyFirstBlock(d, h)) this.#g.push(d)
    else this.#o.push({ d, h })
    return before
  }

  take(): { c: CollectionID; g: DocID[]; o: Array<{ d: DocID; h: BlockCID[] }> } {
    const frame = { c: this.#c!, g: this.#g, o: this.#o }
    this.#g = []
    this.#o = []
    return frame
  }
}
