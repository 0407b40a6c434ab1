/**
 * Head exchange: two group devices find out, cheaply, which documents differ. The asker sends a
 * digest per collection; for shared collections whose digests differ the answerer returns its 256
 * bucket digests; the asker names the buckets that differ and receives the answerer's heads of every
 * document in them. Equal collections cost one digest each, and a large collection with a few
 * changed documents costs a few buckets. Both devices run it when they connect (each pulling what it
 * lacks), which is what resyncs offline edits.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { z } from 'zod'
import type { Database } from '../../db/database.ts'
import { BUCKETS, BUCKET_BYTES, bucketDigest } from '../../db/digest.ts'
import type { BlockCID, CollectionID, DocID } from '../../../shared/types.ts'
import { bytes, Channel, cidString, docIDString, WireError } from '../wire.ts'
import { FRAME_DOCS, MAX_COLLECTIONS, MAX_HEADS, MAX_INBOUND_STREAMS, MAX_MESSAGE_BYTES, PROTOCOL, TIMEOUT_MS } from './constants.ts'

const Digests = z.object({
  v: z.literal(1),
  cols: z.array(z.object({ id: cidString, d: bytes })).max(MAX_COLLECTIONS),
})
const Buckets = z.union([
  z.object({
    cols: z.array(z.object({ id: cidString, buckets: bytes.refine((b) => b.length === BUCKETS * BUCKET_BYTES) })).max(MAX_COLLECTIONS),
    unknown: z.array(cidString).max(MAX_COLLECTIONS),
  }),
  z.object({ error: z.string().max(500) }),
])
const Want = z.object({
  want: z.array(z.object({ id: cidString, buckets: z.array(z.number().int().min(0).max(BUCKETS - 1)).max(BUCKETS) })).max(MAX_COLLECTIONS),
})
const HeadsFrame = z.union([
  z.object({ docs: z.array(z.object({ c: cidString, d: docIDString, h: z.array(cidString).min(1).max(MAX_HEADS) })).max(FRAME_DOCS) }),
  z.object({ done: z.literal(true) }),
])

export interface RemoteHeads {
  /** Per shared collection that differs: the buckets that differ and the peer's heads in them. */
  differing: Map<CollectionID, { buckets: number[]; docs: Array<{ docID: DocID; heads: BlockCID[] }> }>
  /** Collections we asked about that the peer does not have. */
  unknown: CollectionID[]
  /** Collections compared. */
  compared: number
}

export interface HeadExchangeInit {
  db: Database
  host: Libp2p
  isMember: (peer: string) => boolean
  log?: (msg: string) => void
}

export class HeadExchange {
  readonly #db: Database
  readonly #host: Libp2p
  readonly #isMember: (peer: string) => boolean
  readonly #log: (msg: string) => void

  constructor(init: HeadExchangeInit) {
    this.#db = init.db
    this.#host = init.host
    this.#isMember = init.isMember
    this.#log = init.log ?? (() => {})
  }

  async start(): Promise<void> {
    await this.#host.handle(PROTOCOL, (stream, connection) => this.#serve(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true,
    })
  }

  async stop(): Promise<void> {
    await this.#host.unhandle(PROTOCOL)
  }

  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const ch = new Channel(stream, { maxMessageBytes: MAX_MESSAGE_BYTES, signal: AbortSignal.timeout(TIMEOUT_MS) })
    const peer = connection.remotePeer.toString()
    try {
      if (!this.#isMember(peer)) {
        await ch.send({ error: 'refused: not a device of this group' })
        await ch.close()
        return
      }
      const { cols } = await ch.recv(Digests)
      const mine = await this.#db.collectionDigests()
      const differing: Array<{ id: string; buckets: Uint8Array }> = []
      const unknown: string[] = []
      for (const { id, d } of cols) {
        const local = mine.get(id as CollectionID)
        if (local === undefined) unknown.push(id)
        else if (Buffer.compare(local, d) !== 0) differing.push({ id, buckets: await this.#db.bucketDigests(id as CollectionID) })
      }
      await ch.send({ cols: differing, unknown })
      if (differing.length === 0) { await ch.close(); return }
      const { want } = await ch.recv(Want)
      let frame: Array<{ c: string; d: string; h: string[] }> = []
      for (const { id, buckets } of want) {
        if (!mine.has(id as CollectionID)) continue
        for (const { docID, heads } of await this.#db.bucketHeads(id as CollectionID, [...new Set(buckets)])) {
          frame.push({ c: id, d: docID, h: heads })
          if (frame.length >= FRAME_DOCS) { await ch.send({ docs: frame }); frame = [] }
        }
      }
      if (frame.length > 0) await ch.send({ docs: frame })
      await ch.send({ done: true })
      await ch.close()
    } catch (err) {
      this.#log(`head-exchange: serving ${peer} failed: ${(err as Error).message}`)
      ch.abort(err as Error)
    }
  }

  /** Asks `peer` which documents of these collections (default: all of ours) differ, and their heads there. */
  async compare(peer: PeerId, collections?: CollectionID[]): Promise<RemoteHeads> {
    const all = await this.#db.collectionDigests()
    const ids = collections ?? [...all.keys()]
    const result: RemoteHeads = { differing: new Map(), unknown: [], compared: ids.length }
    if (ids.length === 0) return result
    const stream = await this.#host.dialProtocol(peer, PROTOCOL, { signal: AbortSignal.timeout(TIMEOUT_MS), runOnLimitedConnection: true })
    const ch = new Channel(stream, { maxMessageBytes: MAX_MESSAGE_BYTES, signal: AbortSignal.timeout(TIMEOUT_MS) })
    try {
      await ch.send({ v: 1, cols: ids.slice(0, MAX_COLLECTIONS).map((id) => ({ id, d: all.get(id)! })) })
      const answer = await ch.recv(Buckets)
      if ('error' in answer) throw new WireError(`peer answered: ${answer.error}`)
      result.unknown = answer.unknown.filter((id) => ids.includes(id as CollectionID)) as CollectionID[]
      const want: Array<{ id: string; buckets: number[] }> = []
      for (const { id, buckets } of answer.cols) {
        if (!all.has(id as CollectionID)) continue
        const local = await this.#db.bucketDigests(id as CollectionID)
        const diff: number[] = []
        for (let b = 0; b < BUCKETS; b++) {
          if (Buffer.compare(bucketDigest(local, b), bucketDigest(buckets, b)) !== 0) diff.push(b)
        }
        if (diff.length > 0) {
          want.push({ id, buckets: diff })
          result.differing.set(id as CollectionID, { buckets: diff, docs: [] })
        }
      }
      if (answer.cols.length === 0) { await ch.close(); return result }
      await ch.send({ want })
      for (;;) {
        const frame = await ch.recv(HeadsFrame)
        if ('done' in frame) break
        for (const { c, d, h } of frame.docs) {
          result.differing.get(c as CollectionID)?.docs.push({ docID: d as DocID, heads: h as BlockCID[] })
        }
      }
      await ch.close()
      return result
    } catch (err) {
      ch.abort(err as Error)
      throw err
    }
  }
}
