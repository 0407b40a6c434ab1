/**
 * DAG sync: "send block X and its ancestors, stopping at these blocks I already have", answered in
 * one round trip as a stream of blocks in causal order (parents first), bounded in count, bytes and
 * time. Each block is verified on arrival by the database (CID, signature, author, schema).
 */
import type { PeerId, Stream } from '@libp2p/interface'
import PQueue from 'p-queue'
import { z } from 'zod'
import type { PreparedBlocks } from '../../db/database.ts'
import { blockLinks } from '../../db/block.ts'
import type { ApplyResult, DeviceID } from '../../../shared/types.ts'
import { deviceIDOf } from '../device-id.ts'
import { silentLogger, type Logger } from '../logger.ts'
import { attestation, blocksFrame, bytes, Channel, cidString, peerError, peerErrorMessage, WireError } from '../wire.ts'
import { ProtocolService, type ProtocolHost } from '../protocol-service.ts'
import { readRequest, Request } from './request.ts'
import {
  BULK_CHUNK_CIDS, BULK_REQUESTS_IN_FLIGHT, FETCH_CHUNK_CIDS, FETCHES_IN_FLIGHT, FRAME_BLOCKS, FRAME_BYTES, MAX_BLOCKS_PER_RESPONSE, MAX_BYTES_PER_RESPONSE, MAX_CIDS_PER_REQUEST, MAX_INBOUND_STREAMS,
  MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES, PROTOCOL, READ_SLICE, TIMEOUT_MS,
} from './constants.ts'

const readBlocksFrame = blocksFrame(FRAME_BLOCKS)
const Frame = z.union([
  z.object({ blocks: z.array(bytes).max(FRAME_BLOCKS), att: attestation.optional() }),
  z.object({ done: z.literal(true), truncated: z.boolean(), missing: z.array(cidString).max(MAX_CIDS_PER_REQUEST) }),
  peerErrorMessage,
])

export interface FetchResult {
  received: number
  applied: number
  rejected: number
  /** Asked-for blocks the peer does not have. */
  missing: string[]
  /**
   * Of the blocks received, those the peer wrote itself and attested (their signatures not checked
   * one by one here): a holder that wrote what it sends costs this device the least to receive from.
   */
  attested: number
  /** Milliseconds its requests were in flight (summed), not counting any wait for a turn. */
  ms: number
}

/** What a store's checked blocks say of their sender (Database's PreparedBlocks). */
export interface Prepared {
  /** Blocks the sender wrote itself, covered by its attestation. */
  readonly attested: number
}

/**
 * What DAG sync reads from and writes to the database (Database satisfies it). `P` is the database's
 * own record of blocks checked off the write lock, handed back to commit them in order.
 */
export interface DagSyncStore<P extends Prepared = PreparedBlocks> {
  /** Stored blocks by CID (undefined where not stored). */
  getBlocks(cids: readonly string[]): Promise<Array<Uint8Array | undefined>>
  /** Whether each is stored or pending here. */
  hasBlocks(cids: readonly string[]): Promise<boolean[]>
  /** This device's signature over a frame's CIDs (db/attest.ts). */
  attest(ids: readonly string[]): Promise<Uint8Array>
  /** Every check of received blocks that needs no lock. */
  prepareBlocks(entries: Array<{ bytes: Uint8Array }>, options: { from?: DeviceID; attestation?: Uint8Array }): Promise<P>
  /** Commits what `prepareBlocks` checked, in one commit. */
  applyPrepared(prepared: P): Promise<ApplyResult[]>
}

export interface DagSyncComponents<P extends Prepared = PreparedBlocks> {
  host: ProtocolHost
  db: DagSyncStore<P>
}

export interface DagSyncInit {
  isMember: (peer: string) => boolean
  log?: Logger
}

export class DagSync<P extends Prepared = PreparedBlocks> {
  readonly #db: DagSyncStore<P>
  readonly #service: ProtocolService
  readonly #log: Logger
  /** Requests being answered, per asking peer. */
  readonly #serving = new Map<string, number>()
  /**
   * CIDs a request of this device is bringing now (from any peer), each with that request's end.
   * A fetch from another peer leaves them to it: a device catching up from four peers at once had
   * each send it everything, four copies of every block to receive and check.
   */
  readonly #asked = new Map<string, Promise<void>>()
  /**
   * CIDs the requests of the fetches running now brought, until none runs: a fetch of the same list
   * from another device skips them without asking the store (a LevelDB hasMany per chunk held the
   * event loop ~0.1 ms each, and four fetches asked it for every chunk). References to the wanted
   * lists' own strings.
   */
  readonly #brought = new Set<string>()
  /**
   * Requests of long lists in flight, from every peer together. Each device fetching at once
   * took its own lanes: four holders meant eight answers arriving together, whose checks took
   * turns on the event loop, so the first frame committed only after all of them were checked.
   */
  readonly #bulk = new PQueue({ concurrency: BULK_REQUESTS_IN_FLIGHT })
  /** Fetches running now: with more than one, a request first drops what another already brought. */
  #fetches = 0
  /** Fetches started while another ran, since none did: each starts at another point of its list. */
  #joined = 0

  constructor(components: DagSyncComponents<P>, init: DagSyncInit) {
    this.#db = components.db
    this.#log = init.log ?? silentLogger
    this.#service = new ProtocolService(components.host, {
      protocol: PROTOCOL, name: 'dag-sync', maxInboundStreams: MAX_INBOUND_STREAMS, maxMessageBytes: MAX_REQUEST_BYTES, timeoutMs: TIMEOUT_MS,
      isMember: init.isMember, log: this.#log,
    }, (ch, peer, stream) => this.#serve(ch, peer.toString(), stream))
  }

  async start(): Promise<void> {
    await this.#service.start()
  }

  async stop(): Promise<void> {
    await this.#service.stop()
  }

  /** Whether `peer` is fetching blocks from this device right now. */
  servingTo(peer: string): boolean {
    return (this.#serving.get(peer) ?? 0) > 0
  }

  async #serve(ch: Channel, peer: string, stream: Stream): Promise<void> {
    let served = false
    try {
      const req = await ch.recv(Request, readRequest)
      this.#serving.set(peer, (this.#serving.get(peer) ?? 0) + 1)
      served = true
      const have = new Set(req.have)
      // Each frame carries this device's one signature over its CIDs: the asker need not check the
      // signature of each block this device wrote itself (attest.ts).
      const frames = new FrameWriter(async (frame) => {
        await ch.send({ att: await this.#db.attest(frame.map((f) => f.id)), blocks: frame.map((f) => f.bytes) })
      })
      // The ancestors, walked level by level, each level read a slice at a time (the next slice
      // read while this one is sent). Parents go before children: a document's first block (no
      // parents) is sent as it is read, since nothing in the answer can come before it; the others
      // wait for the walk to end and go sorted by height, all of them above those first blocks.
      let level = [...new Set(req.want)].filter((c) => !have.has(c))
      const seen = new Set(level)
      const found: Array<{ bytes: Uint8Array; height: number; id: string }> = []
      const missing: string[] = []
      let count = 0
      let total = 0
      let truncated = false
      walk: while (level.length > 0) {
        if (count >= MAX_BLOCKS_PER_RESPONSE || total >= MAX_BYTES_PER_RESPONSE) { truncated = true; break }
        const next: string[] = []
        const read = (from: number): Promise<Array<Uint8Array | undefined>> => {
          const r = this.#db.getBlocks(level.slice(from, from + READ_SLICE))
          r.catch(() => {}) // a read ahead nobody awaits (the answer ended) fails quietly
          return r
        }
        let reading = read(0)
        for (let at = 0; at < level.length; at += READ_SLICE) {
          const slice = level.slice(at, at + READ_SLICE)
          const datas = await reading
          if (at + READ_SLICE < level.length) reading = read(at + READ_SLICE)
          for (let i = 0; i < slice.length; i++) {
            const data = datas[i]
            if (data === undefined) { if (missing.length < MAX_CIDS_PER_REQUEST) missing.push(slice[i]!); continue }
            if (count >= MAX_BLOCKS_PER_RESPONSE || total >= MAX_BYTES_PER_RESPONSE) { truncated = true; break walk }
            const block = blockLinks(data)
            const f = { bytes: data, height: block.height, id: slice[i]! }
            count++
            total += data.length
            if (block.parents.length === 0) await frames.add(f)
            else found.push(f)
            for (const s of block.parents) {
              if (!have.has(s) && !seen.has(s)) { seen.add(s); next.push(s) }
            }
          }
        }
        level = next
      }
      found.sort((a, b) => a.height - b.height)
      for (const f of found) await frames.add(f)
      await frames.flush()
      await ch.send({ done: true, truncated, missing })
    } finally {
      // The asker applies what it read after we sent the last frame, and closes its end when it
      // has: only then is its pull over.
      if (served) this.#untilClosed(stream, () => {
        const n = (this.#serving.get(peer) ?? 1) - 1
        if (n <= 0) this.#serving.delete(peer)
        else this.#serving.set(peer, n)
      })
    }
  }

  #untilClosed(stream: Stream, then: () => void): void {
    let done = false
    const once = (): void => { if (!done) { done = true; clearTimeout(timer); then() } }
    const timer = setTimeout(once, TIMEOUT_MS)
    timer.unref()
    stream.addEventListener('close', once, { once: true })
    if (stream.status === 'closed' || stream.status === 'aborted' || stream.status === 'reset') once()
  }

  /**
   * Fetches `want` and their ancestors from `peer`, stopping at `have`; then keeps asking for any
   * ancestors still missing (a truncated answer, or blocks that arrived without their parents) until
   * every fetched block is complete or the peer has nothing more.
   *
   * `planned`: `want` is a chunk of a sync's plan (node/fetch-plan.ts), which hands each block to one
   * fetch only: its blocks are not entered in what other fetches skip (`#asked`, `#brought`: two map
   * writes and a delete a block, ~2% of a catch-up's event loop), and no other planned fetch asks
   * for them. It still skips what an unplanned fetch (an edit's ancestors) is bringing.
   */
  async fetch(peer: PeerId, want: string[], have: string[] = [], options: { planned?: boolean } = {}): Promise<FetchResult> {
    const k = this.#fetches > 0 ? ++this.#joined : 0
    this.#fetches++
    try {
      return await this.#fetch(peer, want, have, k, options.planned === true)
    } finally {
      if (--this.#fetches === 0) { this.#brought.clear(); this.#joined = 0 }
    }
  }

  async #fetch(peer: PeerId, want: string[], have: string[], k: number, planned: boolean): Promise<FetchResult> {
    const result: FetchResult = { received: 0, applied: 0, rejected: 0, missing: [], attested: 0, ms: 0 }
    let ask = [...new Set(want)]
    // Joined a fetch already running: what it brought is not asked again.
    if (k > 0 && this.#brought.size > 0) ask = ask.filter((cid) => !this.#brought.has(cid))
    // What we hold stays worth naming in every round: later rounds ask for ancestors of what came,
    // and without it the peer would walk (and send) every document's history back to its start.
    const known = have.slice(0, MAX_CIDS_PER_REQUEST)
    for (let round = 0; ask.length > 0 && round < 1000; round++) {
      // A round asks in chunks, a few at a time: the peer walks and reads the next chunk while
      // this device applies the one before (one request of everything would leave each side
      // waiting for the other in turn).
      const chunks: string[][] = []
      for (let i = 0; i < ask.length; i += FETCH_CHUNK_CIDS) chunks.push(ask.slice(i, i + FETCH_CHUNK_CIDS))
      // Fetches of the same list from several devices each start at another point of it (spread
      // by the golden ratio), so that they meet late rather than queue behind each other's claims.
      const start = Math.floor(chunks.length * ((k * 0.6180339887) % 1))
      // Whatever arrived without its parents, or what a truncated answer did not reach, is asked for next.
      const next = new Set<string>()
      const missing = new Set<string>()
      let progressed = false
      // CIDs another request is bringing: looked at again once it is over (next round).
      const elsewhere = new Map<string, Promise<void>>()
      const one = async (chunk: string[]): Promise<void> => {
        let wantNow: string[] = chunk
        if (this.#brought.size > 0 || this.#asked.size > 0) {
          wantNow = []
          for (const cid of chunk) {
            if (this.#brought.has(cid)) continue
            const other = this.#asked.get(cid)
            if (other === undefined) wantNow.push(cid)
            else elsewhere.set(cid, other)
          }
        }
        if (wantNow.length === 0) return
        const t0 = performance.now()
        const request = this.#fetchOnce(peer, wantNow, known, result)
        const over = request.then(() => { result.ms += performance.now() - t0 }, () => {})
        if (!planned) for (const cid of wantNow) this.#asked.set(cid, over)
        let r: Awaited<typeof request>
        try {
          r = await request
        } finally {
          if (!planned) for (const cid of wantNow) if (this.#asked.get(cid) === over) this.#asked.delete(cid)
        }
        for (const m of r.missing) missing.add(m)
        if (r.received > 0 || r.truncated) progressed = true
        if (!r.truncated && !planned) {
          const lacking = new Set(r.missing)
          for (const cid of wantNow) if (!lacking.has(cid)) this.#brought.add(cid)
        }
        for (const cid of await this.#missingAncestors(r.pending)) next.add(cid)
        if (r.truncated) {
          const here = await this.#db.hasBlocks(wantNow)
          wantNow.forEach((cid, i) => { if (!here[i]) next.add(cid) })
        }
      }
      let at = 0
      let failing = false // one request failed: the other lane takes no new chunk
      const lane = async (): Promise<void> => {
        while (!failing && at < chunks.length) {
          const next = async (): Promise<void> => {
            if (failing || at >= chunks.length) return
            try {
              await one(chunks[(start + at++) % chunks.length]!)
            } catch (err) {
              failing = true
              throw err
            }
          }
          await (chunks[0]!.length >= BULK_CHUNK_CIDS ? this.#bulk.add(next) : next())
        }
      }
      const lanes = await Promise.allSettled(Array.from({ length: Math.min(FETCHES_IN_FLIGHT, chunks.length) }, lane))
      const failed = lanes.find((l) => l.status === 'rejected')
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
      result.missing.push(...missing)
      for (const m of missing) next.delete(m)
      if (elsewhere.size > 0) {
        // What the other requests did not bring (a peer gone, an answer cut short) is asked here next.
        await Promise.all(new Set(elsewhere.values()))
        for (const cid of elsewhere.keys()) next.add(cid)
        progressed = true
      }
      if (!progressed) break
      // A parent another chunk brought in the meantime is not asked for again.
      const stillMissing = this.#brought.size === 0 ? [...next] : [...next].filter((cid) => !this.#brought.has(cid))
      const here = stillMissing.length === 0 ? [] : await this.#db.hasBlocks(stillMissing)
      ask = stillMissing.filter((_, i) => !here[i])
    }
    return result
  }

  #fetchOnce(peer: PeerId, want: string[], have: string[], acc: FetchResult): Promise<{ received: number; pending: Uint8Array[]; missing: string[]; truncated: boolean }> {
    return this.#service.request(peer, (ch) => this.#pull(ch, peer, want, have, acc), { maxMessageBytes: MAX_MESSAGE_BYTES, timeoutMs: TIMEOUT_MS })
  }

  async #pull(ch: Channel, peer: PeerId, want: string[], have: string[], acc: FetchResult): Promise<{ received: number; pending: Uint8Array[]; missing: string[]; truncated: boolean }> {
    const pending: Uint8Array[] = []
    let count = 0
    // Frames are applied in order, one at a time (the database serializes commits anyway), while
    // the next ones are read. Reading never waits for applying: the stream's read buffer has a hard
    // cap (4 MiB) and overflowing it kills the stream; what waits here is bounded by the answer's
    // own limit (MAX_BYTES_PER_RESPONSE).
    let applying: Promise<void> = Promise.resolve()
    let failed: unknown = null
    const apply = async (blocks: Uint8Array[], prepared: Promise<P>): Promise<void> => {
      const checked = await prepared
      const results = await this.#db.applyPrepared(checked)
      acc.received += blocks.length
      acc.attested += checked.attested
      for (const [i, r] of results.entries()) {
        if (r.status === 'applied') acc.applied++
        else if (r.status === 'rejected') { acc.rejected++; this.#log.info(`rejected a block from ${peer}: ${r.reason}`) }
        // Only a pending block can lack ancestors (an applied or stored one has them all).
        if (r.status === 'pending') pending.push(blocks[i]!)
      }
    }
    try {
      await ch.send({ v: 1, want, have })
      for (;;) {
        const frame = await ch.recv(Frame, readBlocksFrame)
        if ('error' in frame) throw peerError(frame, 'peer answered', 'UNAUTHORIZED')
        if ('done' in frame) {
          await applying
          if (failed !== null) throw failed
          return { received: count, pending, missing: frame.missing, truncated: frame.truncated }
        }
        if (failed !== null) throw failed
        count += frame.blocks.length
        if (count > MAX_BLOCKS_PER_RESPONSE + FRAME_BLOCKS) throw new WireError('the peer sent more blocks than allowed')
        // Checked at once (no lock needed; signatures off the event loop), committed in order.
        const prepared = this.#db.prepareBlocks(frame.blocks.map((b) => ({ bytes: b })), { from: deviceIDOf(peer), attestation: frame.att })
        prepared.catch(() => {}) // handled where it is awaited
        applying = applying.then(() => apply(frame.blocks, prepared)).catch((err: unknown) => { failed ??= err })
      }
    } catch (err) {
      await applying // then the channel is aborted (ProtocolService.request)
      throw err
    }
  }

  /** Parents of the given blocks that are neither stored nor pending here. */
  async #missingAncestors(blocks: Uint8Array[]): Promise<string[]> {
    const parents = new Set<string>()
    for (const b of blocks) for (const p of blockLinks(b).parents) parents.add(p)
    const cids = [...parents]
    const here = await this.#db.hasBlocks(cids)
    return cids.filter((_, i) => !here[i])
  }
}

/**
 * Blocks of an answer gathered into frames (FRAME_BLOCKS, FRAME_BYTES), each handed to `send` as
 * soon as it is full: at FRAME_BLOCKS blocks, or when the next block would take it past FRAME_BYTES.
 */
class FrameWriter {
  readonly #send: (frame: Array<{ bytes: Uint8Array; id: string }>) => Promise<void>
  #frame: Array<{ bytes: Uint8Array; id: string }> = []
  #bytes = 0

  constructor(send: (frame: Array<{ bytes: Uint8Array; id: string }>) => Promise<void>) {
    this.#send = send
  }

  async add(block: { bytes: Uint8Array; id: string }): Promise<void> {
    if (this.#frame.length >= FRAME_BLOCKS || this.#bytes + block.bytes.length > FRAME_BYTES) await this.flush()
    this.#frame.push(block)
    this.#bytes += block.bytes.length
    if (this.#frame.length >= FRAME_BLOCKS) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.#frame.length === 0) return
    const frame = this.#frame
    this.#frame = []
    this.#bytes = 0
    await this.#send(frame)
  }
}
