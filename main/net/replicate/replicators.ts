/**
 * Active replication: standing orders "push collection C (or document D) to device P", kept on
 * disk. Every change in scope is appended to a persistent outbox inside the same atomic commit as
 * the change; a worker per target pushes outbox batches and deletes them only when the target has
 * acked its own commit. An offline target is retried with capped backoff and flushed the moment it
 * connects. Adding a replicator first brings the target up to date through head exchange.
 */
import { EventEmitter } from 'node:events'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2pEvents, PeerId, TypedEventTarget } from '@libp2p/interface'
import { TandemError } from '../../../shared/errors.ts'
import type { ReplicatorInfo } from '../../../shared/api/types.ts'
import type { BlockCID, CollectionID, DeviceID, DocID } from '../../../shared/types.ts'
import type { Applied, ChangeOrigin } from '../../db/database.ts'
import { blockLinks, onlyFirstBlock } from '../../db/block.ts'
import { BUCKETS } from '../../db/digest.ts'
import type { Namespace, StorageTxn } from '../../db/namespace.ts'
import type { Outbox } from '../../db/outbox.ts'
import type { SchemaVersion } from '../../db/versions.ts'
import type { HeadExchange, HeadStore } from '../head-exchange/head-exchange.ts'
import type { Dialer } from '../protocol-service.ts'
import { Backoff } from '../backoff.ts'
import { deviceIDOf } from '../device-id.ts'
import { reason, silentLogger, type Logger } from '../logger.ts'
import { BATCH_BLOCKS, BATCH_BYTES, MAX_VERSIONS, RETRY_INITIAL_MS, RETRY_MAX_MS } from './constants.ts'
import { push } from './protocol.ts'

export interface ReplicatorRecord {
  target: DeviceID
  collections: CollectionID[]
  documents: Array<{ collection: CollectionID; docID: DocID }>
  createdAt: number
  /** The target was brought up to date for this scope (head exchange + push) since the scope last grew. */
  initialSynced: boolean
  /** Blocks the first initial-sync plan for this scope counted: progress of a resumed sync is shown against it. */
  initialPlanned?: number
}

/** What replicators read and write of the database (Database satisfies it). */
export interface ReplicatorStore {
  readonly deviceID: DeviceID
  /** Where the standing orders are kept (db/namespace.ts), and the writes that commit with the outbox's. */
  namespace<T>(name: string): Namespace<T>
  transact(stage: (tx: StorageTxn) => void): Promise<void>
  /** The replication outbox (db/outbox.ts): the route that fills it, and what the workers push from it. */
  readonly outbox: Outbox
  /** A commit happened: the workers look at their outbox again. */
  on(event: 'change', listener: () => void): unknown
  off(event: 'change', listener: () => void): unknown
  /** What a standing order names, resolved (UNKNOWN_COLLECTION, NOT_FOUND otherwise). */
  getCollection(nameOrID: string): Promise<{ id: CollectionID }>
  getDocument(collection: string, docID: string): Promise<{ collection: CollectionID; docID: DocID }>
  /** What an initial sync starts its walk from. */
  bucketHeads: HeadStore['bucketHeads']
  documentHeads(collection: CollectionID, docID: string): Promise<BlockCID[]>
  /** What the walk reads of each block: its height and parents. */
  blockLinksMany(cids: readonly string[]): Promise<Array<{ height: number; parents: string[] } | undefined>>
  /** What a push carries: blocks, this device's signature over their CIDs, their collections' schemas and versions. */
  getBlocks(cids: readonly string[]): Promise<Array<Uint8Array | undefined>>
  attest(ids: readonly string[]): Promise<Uint8Array>
  collectionSDL(id: string): string | undefined
  schemaVersions(collection: string): SchemaVersion[]
}

/** What replicators need of the host (libp2p satisfies it): push to a target, and see targets connect and go. */
export interface ReplicatorHost extends Dialer, Pick<TypedEventTarget<Libp2pEvents>, 'addEventListener' | 'removeEventListener'> {
  getConnections(peer: PeerId): readonly unknown[]
}

export interface ReplicatorsComponents {
  db: ReplicatorStore
  host: ReplicatorHost
  /** Only group devices are targets. */
  group: { has(deviceID: DeviceID): boolean }
  /** What a target lacks, for an initial sync. */
  heads: Pick<HeadExchange, 'compare'>
}

export interface ReplicatorsInit {
  /**
   * Whether the target is fetching blocks from this device right now (DAG sync): its own head
   * exchange pulls what it lacks, so an initial sync waits for that and plans only the rest.
   */
  pulling?: (peer: string) => boolean
  log?: Logger
}

interface Events {
  state: [ReplicatorInfo]
}

interface Live {
  lastAck: number | null
  lastError: string | null
  initialSync: ReplicatorInfo['initialSync']
  /** Initial-sync passes cut short because the target already had most of a batch, and the last plan's size. */
  replans: number
  /** Passes cut short because the target was pulling from us. */
  yields: number
  lastPlan: number | null
  /** The target connected since the last initial-sync pass began. */
  justConnected: boolean
}

/** How often a worker whose target is offline looks again: a fallback, as its connect wakes it at once. */
const OFFLINE_RECHECK_MS = 5_000
/** How long a worker with nothing to push sleeps before it looks again (a change or a connect wakes it sooner). */
const IDLE_RECHECK_MS = 30_000
/** How often a resumed initial sync checks whether the target began pulling (PULL_START_WAIT_MS at most). */
const PULL_START_POLL_MS = 50
/** How often an initial sync checks whether the target's pull ended (PULL_WAIT_MS at most). */
const PULL_END_POLL_MS = 100
/** Blocks read at once (one multi-get) per level while planning an initial sync. */
const PLAN_READ_BLOCKS = 1024
/** Multi-reads of a plan's walk in flight at once. */
const PLAN_READS_IN_FLIGHT = 4
/** Pushes of one initial sync under way at once: two keep the link busy while the target commits; more only queue there. */
const PUSHES_IN_FLIGHT = 2

/** Re-plans of one initial sync when the target turns out to have most of a batch already. */
const MAX_REPLANS = 4
/** Passes of one initial sync that stop to let the target's own pull finish, and how long one waits. */
const MAX_YIELDS = 16
const PULL_WAIT_MS = 60_000
/** How long a resumed initial sync waits, after the target connects, for the target's own pull to begin. */
const PULL_START_WAIT_MS = 3_000

/**
 * One push's worth of `cids` (their blocks in `datas`, undefined where not stored): blocks in
 * order up to BATCH_BYTES (at least one), their CIDs and collections, and how many of `cids` it
 * took (blocks not stored are taken and skipped).
 */
function batchOf(cids: readonly string[], datas: ReadonlyArray<Uint8Array | undefined>): { blocks: Uint8Array[]; ids: string[]; collections: Set<string>; taken: number } {
  const blocks: Uint8Array[] = []
  const ids: string[] = []
  const collections = new Set<string>()
  let size = 0
  let taken = 0
  for (const data of datas) {
    if (blocks.length > 0 && data !== undefined && size + data.length > BATCH_BYTES) break
    taken++
    if (data === undefined) continue
    blocks.push(data)
    ids.push(cids[taken - 1]!)
    size += data.length
    collections.add(blockLinks(data).collection)
  }
  return { blocks, ids, collections, taken }
}

export class Replicators extends EventEmitter<Events> {
  readonly #db: ReplicatorStore
  /** The records on disk, by target; `#records` mirrors them. */
  readonly #stored: Namespace<ReplicatorRecord>
  readonly #host: ReplicatorHost
  readonly #group: ReplicatorsComponents['group']
  readonly #heads: ReplicatorsComponents['heads']
  readonly #pulling: (peer: string) => boolean
  readonly #log: Logger
  readonly #records = new Map<DeviceID, ReplicatorRecord>()
  readonly #live = new Map<DeviceID, Live>()
  readonly #wake = new Map<DeviceID, () => void>()
  readonly #workers = new Map<DeviceID, Promise<void>>()
  readonly #backoff = new Backoff({ initialMs: RETRY_INITIAL_MS, maxMs: RETRY_MAX_MS })
  readonly #offs: Array<() => void> = []
  #stopped = false

  constructor(components: ReplicatorsComponents, init: ReplicatorsInit = {}) {
    super()
    this.#db = components.db
    this.#stored = components.db.namespace<ReplicatorRecord>('replicators')
    this.#host = components.host
    this.#group = components.group
    this.#heads = components.heads
    this.#pulling = init.pulling ?? (() => false)
    this.#log = init.log ?? silentLogger
  }

  async start(): Promise<void> {
    for await (const r of this.#stored.values()) this.#records.set(r.target, r)
    this.#offs.push(this.#db.outbox.route((applied, origin, from) => this.#route(applied, origin, from)))
    const onChange = (): void => { for (const wake of this.#wake.values()) wake() }
    this.#db.on('change', onChange)
    this.#offs.push(() => this.#db.off('change', onChange))
    const onConnect = (evt: CustomEvent<PeerId>): void => {
      const target = deviceIDOf(evt.detail)
      if (!this.#records.has(target)) return
      this.#backoff.reset(target)
      this.#liveOf(target).justConnected = true
      this.#wake.get(target)?.()
      this.#emitState(target)
    }
    const onDisconnect = (evt: CustomEvent<PeerId>): void => { this.#emitState(deviceIDOf(evt.detail)) }
    this.#host.addEventListener('peer:connect', onConnect)
    this.#host.addEventListener('peer:disconnect', onDisconnect)
    this.#offs.push(() => this.#host.removeEventListener('peer:connect', onConnect))
    this.#offs.push(() => this.#host.removeEventListener('peer:disconnect', onDisconnect))
    for (const target of this.#records.keys()) this.#startWorker(target)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    for (const off of this.#offs.splice(0)) off()
    for (const wake of this.#wake.values()) wake()
    await Promise.allSettled([...this.#workers.values()])
  }

  /**
   * Adds collections (names or IDs) and/or single documents to the replicator for `target`,
   * creating it if needed. The target is brought up to date for what is new, then kept up to date.
   */
  async set(input: { target: DeviceID; collections?: string[]; documents?: Array<{ collection: string; docID: string }> }): Promise<ReplicatorInfo> {
    const target = input.target
    if (!this.#group.has(target) || target === this.#db.deviceID) {
      throw new TandemError('INVALID_INPUT', `${target} is not a device of this group; pair it first.`)
    }
    const collections: CollectionID[] = []
    for (const c of input.collections ?? []) collections.push((await this.#db.getCollection(c)).id)
    const documents: ReplicatorRecord['documents'] = []
    for (const d of input.documents ?? []) {
      const doc = await this.#db.getDocument(d.collection, d.docID)
      documents.push({ collection: doc.collection, docID: doc.docID })
    }
    if (collections.length === 0 && documents.length === 0) throw new TandemError('INVALID_INPUT', 'Name at least one collection or document to replicate.')
    const prev = this.#records.get(target)
    const record: ReplicatorRecord = {
      target,
      collections: [...new Set([...(prev?.collections ?? []), ...collections])],
      documents: dedupeDocs([...(prev?.documents ?? []), ...documents]),
      createdAt: prev?.createdAt ?? Date.now(),
      initialSynced: false,
    }
    // Under the write lock: no change can commit between the scope growing and the route seeing it.
    await this.#db.transact((tx) => {
      tx.put(this.#stored, target, record)
      tx.afterCommit(() => this.#records.set(target, record))
    })
    Object.assign(this.#liveOf(target), { initialSync: { state: 'waiting', done: 0, total: 0 }, replans: 0, yields: 0, lastPlan: null, justConnected: false })
    this.#startWorker(target)
    this.#wake.get(target)?.()
    return this.state(target)!
  }

  /** Removes the whole replicator for `target` (and its outbox), or only some of its scope. */
  async remove(target: DeviceID, part?: { collections?: string[]; documents?: string[] }): Promise<void> {
    const prev = this.#records.get(target)
    if (prev === undefined) throw new TandemError('NOT_FOUND', `There is no replicator to ${target}.`)
    let next: ReplicatorRecord | null = null
    if (part !== undefined && ((part.collections?.length ?? 0) > 0 || (part.documents?.length ?? 0) > 0)) {
      const dropCols = new Set<string>()
      for (const c of part.collections ?? []) dropCols.add((await this.#db.getCollection(c)).id)
      const dropDocs = new Set(part.documents ?? [])
      next = {
        ...prev,
        collections: prev.collections.filter((c) => !dropCols.has(c)),
        documents: prev.documents.filter((d) => !dropDocs.has(d.docID)),
      }
      if (next.collections.length === 0 && next.documents.length === 0) next = null
    }
    await this.#db.transact((tx) => {
      if (next === null) {
        tx.del(this.#stored, target)
        tx.dropOutbox(target)
        tx.afterCommit(() => this.#records.delete(target))
      } else {
        tx.put(this.#stored, target, next)
        tx.afterCommit(() => this.#records.set(target, next))
      }
    })
    this.#wake.get(target)?.()
    if (next !== null) this.#emitState(target)
  }

  list(): ReplicatorInfo[] {
    return [...this.#records.keys()].map((t) => this.state(t)!).sort((a, b) => (a.target < b.target ? -1 : 1))
  }

  state(target: DeviceID): ReplicatorInfo | undefined {
    const r = this.#records.get(target)
    if (r === undefined) return undefined
    const live = this.#liveOf(target)
    const { initialPlanned: _, ...record } = r
    return {
      ...record, connected: this.#connected(target), pending: this.#db.outbox.count(target),
      lastAck: live.lastAck, lastError: live.lastError, initialSync: live.initialSync,
    }
  }

  /** Changes in the target's outbox, not yet acked. */
  async pending(target: DeviceID): Promise<number> {
    return this.#db.outbox.count(target)
  }

  // ---- the outbox ----

  /** The outbox route: which replicators get which of a commit's blocks (the database appends them in that commit). */
  #route(applied: readonly Applied[], origin: ChangeOrigin, from: DeviceID | undefined): Map<DeviceID, BlockCID[]> {
    const routed = new Map<DeviceID, BlockCID[]>()
    for (const r of this.#records.values()) {
      // What came from the target itself need not go back to it.
      if (origin === 'remote' && from === r.target) continue
      const cids = applied.filter((a) => inScope(r, a.collection, a.docID)).map((a) => a.cid)
      if (cids.length > 0) routed.set(r.target, cids)
    }
    return routed
  }

  // ---- the worker per target ----

  #startWorker(target: DeviceID): void {
    if (this.#workers.has(target) || this.#stopped) return
    const run = this.#work(target).catch((err: unknown) => this.#log.warn(`the worker for ${target} stopped: ${reason(err)}`))
      .finally(() => { this.#workers.delete(target); this.#wake.delete(target) })
    this.#workers.set(target, run)
  }

  async #work(target: DeviceID): Promise<void> {
    const peer = peerIdFromString(target)
    while (!this.#stopped && this.#records.has(target)) {
      if (!this.#connected(target)) {
        this.#emitState(target)
        await this.#sleep(target, OFFLINE_RECHECK_MS)
        continue
      }
      try {
        const record = this.#records.get(target)!
        if (!record.initialSynced) {
          await this.#initialSync(peer, record)
          continue
        }
        const sent = await this.#flushBatch(peer, target)
        if (sent === 0) await this.#sleep(target, IDLE_RECHECK_MS)
      } catch (err) {
        this.#liveOf(target).lastError = (err as Error).message
        this.#emitState(target)
        await this.#sleep(target, this.#backoff.next(target))
      }
    }
  }

  /** Pushes up to one batch of the outbox; returns how many entries were acked. */
  async #flushBatch(peer: PeerId, target: DeviceID): Promise<number> {
    const entries = await this.#db.outbox.peek(target, BATCH_BLOCKS)
    if (entries.length === 0) {
      this.#emitState(target)
      return 0
    }
    const cids = entries.map((e) => e.cid)
    const { blocks, ids, collections, taken } = batchOf(cids, await this.#db.getBlocks(cids))
    if (blocks.length > 0) await push(this.#host, peer, this.#schemas(target, collections), blocks, await this.#db.attest(ids), this.#versions(collections))
    const done = entries.slice(0, taken)
    await this.#db.outbox.ack(target, done)
    const live = this.#liveOf(target)
    live.lastAck = Date.now()
    live.lastError = null
    this.#backoff.reset(target)
    this.#emitState(target)
    return done.length
  }

  /**
   * Brings the target up to date for the replicator's scope: what it lacks, found by head exchange.
   * Resumable: what the target committed (acked pushes, or blocks it pulled itself) is not planned
   * again after a restart of either side, and progress counts against the first plan's total.
   */
  async #initialSync(peer: PeerId, record: ReplicatorRecord): Promise<void> {
    const target = record.target
    const live = this.#liveOf(target)
    // While planning, the last known progress stays shown (a resumed sync does not drop to 0 %).
    live.initialSync = { ...live.initialSync, state: 'running' }
    this.#emitState(target)
    // The target pulling from us (its head exchange on connect) gets what it lacks that way;
    // planning after it ends leaves only the rest to push, rather than sending blocks twice. A
    // resumed sync (the target holds part of the scope, so it pulls on connect) gives it a moment.
    if (live.justConnected && record.initialPlanned !== undefined) await this.#pullStarts(target)
    live.justConnected = false
    await this.#pullEnded(target)
    const { found, unknown } = await this.#plan(peer, record)
    // Collections the target does not hold yet are created there first, even when they are empty
    // here (schemas otherwise travel only with blocks): what is replicated is there, and checks as such.
    if (unknown.length > 0) await push(this.#host, peer, this.#schemas(target, new Set(unknown)), [], undefined, this.#versions(new Set(unknown)))
    // Progress against the whole: the first plan for this scope is remembered (on disk, so a
    // restart keeps it); what is planned now is what is left of it.
    const total = Math.max(record.initialPlanned ?? 0, found.length)
    if (record.initialPlanned === undefined) await this.#updateRecord(record, { initialPlanned: total })
    const base = total - found.length
    live.initialSync = { state: 'running', done: base, total }
    this.#emitState(target)
    // A re-plan is worth it only while plans shrink (the target pulled blocks itself meanwhile).
    const mayReplan = live.replans < MAX_REPLANS && (live.lastPlan === null || found.length < live.lastPlan)
    live.lastPlan = found.length
    // PUSHES_IN_FLIGHT pushes at once: the next batch travels while the target commits the previous one.
    const inFlight: Array<Promise<unknown>> = []
    let acked = 0
    let replan: false | 'duplicates' | 'pulling' = false
    for (let i = 0; i < found.length;) {
      // Stopping mid-backfill: what was acked is committed at the target; the next start's head
      // exchange finds it there and sends only the rest.
      if (this.#stopped || replan) break
      if (live.yields < MAX_YIELDS && this.#pulling(target)) { live.yields++; replan = 'pulling'; break }
      const cids = found.slice(i, i + BATCH_BLOCKS).map((f) => f.cid)
      const { blocks, ids, collections, taken } = batchOf(cids, await this.#db.getBlocks(cids))
      i += taken
      if (blocks.length === 0) continue
      const count = taken
      const more = i < found.length
      const sent = push(this.#host, peer, this.#schemas(target, collections), blocks, await this.#db.attest(ids), this.#versions(collections)).then((ack) => {
        acked += count
        live.initialSync = { state: 'running', done: Math.min(base + acked, total), total }
        live.lastAck = Date.now()
        // Most of the batch was there already: the target is getting these blocks another way (its
        // own head exchange on connect pulls them too). Ask again what it lacks rather than push
        // the rest of a stale plan.
        if (mayReplan && more && ack.duplicate * 2 > blocks.length) replan ||= 'duplicates'
        this.#emitState(target)
      })
      // The target may go away with both pushes in flight: the second one's failure must not be
      // left unhandled (that would end the process) while the first one's is thrown.
      sent.catch(() => {})
      inFlight.push(sent)
      if (inFlight.length >= PUSHES_IN_FLIGHT) {
        try {
          await inFlight.shift()
        } catch (err) {
          await Promise.allSettled(inFlight)
          throw err
        }
      }
    }
    const settled = await Promise.allSettled(inFlight)
    const failed = settled.find((s) => s.status === 'rejected')
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
    if (this.#stopped) return
    const why = replan as false | 'duplicates' | 'pulling' // set in the ack handlers too
    if (why !== false) {
      if (why === 'duplicates') live.replans++
      this.#log.info(`${target} gets blocks another way (${why === 'pulling' ? 'it pulls from us' : 'it had most of a batch'}); planning the rest again`)
      return // the worker runs the initial sync again: a fresh head exchange plans what is left
    }
    // Done only for the scope planned here: a scope that grew meanwhile (set) is synced next.
    await this.#updateRecord(record, { initialSynced: true })
    live.initialSync = { state: 'done', done: total, total }
    live.lastError = null
    live.replans = 0
    live.yields = 0
    live.lastPlan = null
    this.#emitState(target)
  }

  /** Waits (bounded) until the target starts fetching from this device. */
  async #pullStarts(target: DeviceID): Promise<void> {
    const end = Date.now() + PULL_START_WAIT_MS
    while (!this.#pulling(target) && !this.#stopped && Date.now() < end && this.#connected(target)) {
      await new Promise((r) => setTimeout(r, PULL_START_POLL_MS))
    }
  }

  /** Waits (bounded) until the target is no longer fetching from this device. */
  async #pullEnded(target: DeviceID): Promise<void> {
    const end = Date.now() + PULL_WAIT_MS
    while (this.#pulling(target) && !this.#stopped && Date.now() < end && this.#connected(target)) {
      await new Promise((r) => setTimeout(r, PULL_END_POLL_MS))
    }
  }

  /** Every block reachable from our heads in the scope that the target's heads do not cover, parents first. */
  async #plan(peer: PeerId, record: ReplicatorRecord): Promise<{ found: Array<{ cid: string; height: number }>; unknown: CollectionID[] }> {
    const stopAt = new Set<string>()
    const starts: Array<{ docID: DocID; heads: BlockCID[] }> = []
    let unknown: CollectionID[] = []
    if (record.collections.length > 0) {
      const remote = await this.#heads.compare(peer, record.collections)
      unknown = remote.unknown
      for (const id of remote.unknown) starts.push(...await this.#db.bucketHeads(id, allBuckets()))
      for (const [id, { buckets, docs }] of remote.differing) {
        for (const d of docs) for (const h of d.heads) stopAt.add(h)
        starts.push(...await this.#db.bucketHeads(id, buckets))
      }
    }
    for (const d of record.documents) starts.push({ docID: d.docID, heads: await this.#db.documentHeads(d.collection, d.docID) })
    // Walked level by level with one multi-get per level: one read per block would dominate. A
    // document never edited has its first block as its one head, which its docID names: height 1,
    // no parents, nothing to read (a collection created in bulk is all such documents).
    const found: Array<{ cid: string; height: number }> = []
    const seen = new Set<string>()
    let frontier: string[] = []
    for (const { docID, heads } of starts) {
      const genesis = onlyFirstBlock(docID, heads)
      for (const h of heads) {
        if (seen.has(h) || stopAt.has(h)) continue
        seen.add(h)
        if (genesis) found.push({ cid: h, height: 1 })
        else frontier.push(h)
      }
    }
    while (frontier.length > 0) {
      const next: string[] = []
      // A level's reads go PLAN_READS_IN_FLIGHT at a time: one after another, each waited for
      // LevelDB in turn while the event loop sat idle (half the plan of 100k documents).
      const chunks: string[][] = []
      for (let i = 0; i < frontier.length; i += PLAN_READ_BLOCKS) chunks.push(frontier.slice(i, i + PLAN_READ_BLOCKS))
      for (let c = 0; c < chunks.length; c += PLAN_READS_IN_FLIGHT) {
        const group = chunks.slice(c, c + PLAN_READS_IN_FLIGHT)
        const read = await Promise.all(group.map((cids) => this.#db.blockLinksMany(cids)))
        group.forEach((cids, g) => {
          for (const [j, block] of read[g]!.entries()) {
            if (block === undefined) continue
            found.push({ cid: cids[j]!, height: block.height })
            for (const s of block.parents) {
              if (!seen.has(s) && !stopAt.has(s)) { seen.add(s); next.push(s) }
            }
          }
        })
      }
      frontier = next
    }
    found.sort((a, b) => a.height - b.height)
    return { found, unknown }
  }

  /** Updates the stored record, unless its scope changed since `planned` was read (set() grew it). */
  async #updateRecord(planned: ReplicatorRecord, patch: Partial<Pick<ReplicatorRecord, 'initialSynced' | 'initialPlanned'>>): Promise<void> {
    await this.#db.transact((tx) => {
      const current = this.#records.get(planned.target)
      if (current === undefined || scopeKey(current) !== scopeKey(planned)) return
      const next = { ...current, ...patch }
      tx.put(this.#stored, planned.target, next)
      tx.afterCommit(() => this.#records.set(planned.target, next))
    })
  }

  #schemas(target: DeviceID, collections: Set<string>): Array<{ id: string; sdl: string; partial: boolean }> {
    // Collections replicated whole; any other one in the batch goes for single documents of it.
    const whole: ReadonlySet<string> = new Set(this.#records.get(target)?.collections)
    return [...collections].flatMap((id) => {
      const sdl = this.#db.collectionSDL(id)
      return sdl === undefined ? [] : [{ id, sdl, partial: !whole.has(id) }]
    })
  }

  /** The later schema versions of these collections (the first travels as `schemas`), newest last, at most MAX_VERSIONS in all. */
  #versions(collections: Set<string>): unknown[] {
    const per = Math.max(1, Math.floor(MAX_VERSIONS / Math.max(1, collections.size)))
    return [...collections].flatMap((id) => this.#db.schemaVersions(id).filter((v) => v.parents.length > 0).slice(-per)).slice(-MAX_VERSIONS)
  }

  #sleep(target: DeviceID, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => { clearTimeout(timer); this.#wake.delete(target); resolve() }
      const timer = setTimeout(done, ms)
      this.#wake.set(target, done)
    })
  }

  #connected(target: DeviceID): boolean {
    try {
      return this.#host.getConnections(peerIdFromString(target)).length > 0
    } catch {
      return false
    }
  }

  #liveOf(target: DeviceID): Live {
    let live = this.#live.get(target)
    if (live === undefined) {
      live = { lastAck: null, lastError: null, initialSync: { state: 'waiting', done: 0, total: 0 }, replans: 0, yields: 0, lastPlan: null, justConnected: false }
      this.#live.set(target, live)
    }
    return live
  }

  #emitState(target: DeviceID): void {
    const s = this.state(target)
    if (s !== undefined) this.emit('state', s)
  }
}

function inScope(r: ReplicatorRecord, collection: CollectionID, docID: DocID): boolean {
  return r.collections.includes(collection) || r.documents.some((d) => d.docID === docID)
}

function dedupeDocs(docs: ReplicatorRecord['documents']): ReplicatorRecord['documents'] {
  const seen = new Set<string>()
  return docs.filter((d) => (seen.has(d.docID) ? false : (seen.add(d.docID), true)))
}

function scopeKey(r: ReplicatorRecord): string {
  return JSON.stringify([r.collections, r.documents.map((d) => d.docID)])
}

function allBuckets(): number[] {
  return Array.from({ length: BUCKETS }, (_, i) => i)
}
