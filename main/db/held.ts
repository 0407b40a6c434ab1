/**
 * The mass-delete guard. When deletions written by one other device would remove more than a share
 * of a collection in a short window (default: more than 50% of its live documents and more than 20
 * documents within 60 s), they are *held*: the delete blocks are stored and merged as usual (the
 * DAG stays whole, so head digests stay equal and sync converges, nothing is fetched again), but
 * the documents they delete still read as alive here, marked `held`, until the person decides:
 * release (the deletions take effect) or reject (every held document is restored by a new change
 * that replicates to every device, the author's too).
 *
 * Held documents persist in the `held` sublevel (`b!batchID` → batch, `d!collection!docID` → the
 * held delete), so a restart keeps them. The window counting deletions before the threshold is in
 * memory only: a restart in the middle of a window starts a new one.
 *
 * What counts: a document alive here before a commit and deleted after it, by a block of another
 * device. Documents whose first block arrived recently (within the window, and at least 10 min) do
 * not count: a device learning a collection's history (blocks come level by level, creations
 * before deletions) is not a mass delete. Deletes written on this device are never held.
 */
import { randomBytes } from 'node:crypto'
import type { CollectionID, DeviceID, DocID } from '../../shared/types.ts'
import { stampOf, type DocRecord } from './crdt.ts'
import { DELETED_FIELD } from './block.ts'
import type { Applied } from './apply.ts'
import type { Store, Txn } from './store.ts'
import { splitDocKey } from './ids.ts'

export interface MassDeleteOptions {
  /** Deletions must exceed this share of the collection's live documents at the window start. */
  ratio?: number
  /** … and this many documents. */
  minDocs?: number
  /** The window deletions are counted in (ms). */
  windowMs?: number
}

/**
 * How long a document that arrived from another device is not counted (at least the window): a
 * first sync of a large collection can take a few minutes between its creations and deletions.
 */
const ARRIVAL_GRACE_MS = 10 * 60_000
/** At most this many recent arrivals are remembered (the oldest go first; about 100 bytes each). */
const MAX_ARRIVED = 500_000

export const DEFAULT_MASS_DELETE: Required<MassDeleteOptions> = { ratio: 0.5, minDocs: 20, windowMs: 60_000 }

/** A held batch as stored. */
export interface HeldBatchRecord {
  id: string
  collection: CollectionID
  /** The device whose delete blocks are held. */
  author: DeviceID
  /** Arrival time here of the first and the latest held deletion (ms since epoch). */
  firstAt: number
  lastAt: number
  /** Live documents of the collection when the window began. */
  liveAtStart: number
}

export interface HeldBatch extends HeldBatchRecord {
  /** Documents held now. */
  docs: number
  /** A few of them (at most 10). */
  sample: DocID[]
}

/** One held document: which batch, which delete block (its `_deleted` winner when held), when. */
export interface HeldDoc {
  batch: string
  cid: string
  at: number
}

interface Batch {
  rec: HeldBatchRecord
  docs: Set<string> // docKeys
}

interface Window {
  start: number
  liveAtStart: number
  docs: Map<string, { docID: DocID; cid: string; at: number }> // by docKey
}

/** What one commit changes in the held set: written into its transaction, then into memory once committed. */
export class HeldChanges {
  readonly puts = new Map<string, HeldDoc>()
  readonly dels = new Set<string>()
  readonly batches = new Map<string, HeldBatchRecord>()
  readonly droppedBatches = new Set<string>()
  /** Documents held by this commit although it did not change them (deleted by an earlier commit in the window). */
  readonly surfaced: Array<{ collection: CollectionID; docID: DocID }> = []

  get empty(): boolean {
    return this.puts.size === 0 && this.dels.size === 0 && this.batches.size === 0 && this.droppedBatches.size === 0
  }
}

export type LiveCount = (collection: CollectionID) => Promise<number>

export class HeldDeletes {
  readonly #store: Store
  readonly #self: DeviceID
  readonly #options: Required<MassDeleteOptions> | null
  readonly #batches = new Map<string, Batch>()
  readonly #byDoc = new Map<string, HeldDoc>()
  readonly #windows = new Map<string, Window>() // `${author}!${collection}`
  /**
   * Documents whose first block arrived from another device lately (pruned after the window). By
   * docID alone, not docKey: a docID names its genesis block, which names its collection, so it is
   * unique across collections; and it is a string the applied block already holds (a catch-up of
   * 100k documents kept 100k longer keys made for this alone).
   */
  readonly #arrived = new Arrivals()

  private constructor(store: Store, self: DeviceID, options: MassDeleteOptions | false | undefined) {
    this.#store = store
    this.#self = self
    this.#options = options === false ? null : { ...DEFAULT_MASS_DELETE, ...options }
  }

  static async load(store: Store, self: DeviceID, options: MassDeleteOptions | false | undefined): Promise<HeldDeletes> {
    const h = new HeldDeletes(store, self, options)
    const docs: Array<[string, HeldDoc]> = []
    for await (const [key, value] of store.held.iterator()) {
      if (key.startsWith('b!')) {
        const rec = value as HeldBatchRecord
        h.#batches.set(rec.id, { rec, docs: new Set() })
      } else if (key.startsWith('d!')) {
        docs.push([key.slice(2), value as HeldDoc])
      }
    }
    for (const [key, held] of docs) {
      const batch = h.#batches.get(held.batch)
      if (batch === undefined) continue
      batch.docs.add(key)
      h.#byDoc.set(key, held)
    }
    return h
  }

  get(docKey: string): HeldDoc | undefined {
    return this.#byDoc.get(docKey)
  }

  /** Held documents of a collection (they read as alive). */
  count(collection: string): number {
    let n = 0
    for (const b of this.#batches.values()) if (b.rec.collection === collection) n += b.docs.size
    return n
  }

  list(): HeldBatch[] {
    return [...this.#batches.values()]
      .map((b) => ({ ...b.rec, docs: b.docs.size, sample: [...b.docs].slice(0, 10).map((k) => splitDocKey(k).docID) }))
      .sort((a, b) => a.firstAt - b.firstAt || (a.id < b.id ? -1 : 1))
  }

  batch(id: string): { rec: HeldBatchRecord; docKeys: string[] } | undefined {
    const b = this.#batches.get(id)
    return b === undefined ? undefined : { rec: b.rec, docKeys: [...b.docs] }
  }

  /** Changes that end a batch: every document of it stops being held. */
  dropBatch(id: string): HeldChanges {
    const changes = new HeldChanges()
    const b = this.#batches.get(id)
    if (b === undefined) return changes
    for (const k of b.docs) changes.dels.add(k)
    changes.droppedBatches.add(id)
    return changes
  }

  /**
   * What a commit applying `applied` changes in the held set. Local changes to a held document end
   * its hold (the person acted on it: an edit or restore keeps it, a delete lets it go). Remote
   * changes end it when the document is alive after them (another device restored it); remote
   * deletions are counted in the window and, past the threshold, held.
   */
  async observe(txn: Txn, applied: readonly Applied[], origin: 'local' | 'remote', now: number, live: LiveCount): Promise<HeldChanges> {
    const changes = new HeldChanges()
    if (applied.length === 0) return changes
    // Nothing held: a local commit changes nothing here (and a bulk create skips the per-document work).
    if (origin === 'local' && this.#byDoc.size === 0) return changes
    const opts = this.#options
    if (origin === 'remote' && this.#byDoc.size === 0 && applied.every((a) => a.before === undefined)) {
      // Nothing held, and each block the first of a document new here (a new device catching up,
      // a restore): each document is only noted as just arrived, without the per-document maps below.
      if (opts === null) return changes
      this.#prune(now, opts.windowMs)
      this.#arrived.add(applied.map((a) => a.docID), now)
      return changes
    }
    const perDoc = new Map<string, { first: Applied; last: Applied }>()
    const authors = new Map<string, DeviceID>()
    for (const a of applied) {
      const key = `${a.collection}!${a.docID}`
      const seen = perDoc.get(key)
      if (seen === undefined) perDoc.set(key, { first: a, last: a })
      else seen.last = a
      authors.set(a.cid, a.author)
    }
    if (opts !== null) this.#prune(now, opts.windowMs)
    const candidates = new Map<string, { author: DeviceID; collection: CollectionID; docs: Array<{ key: string; docID: DocID; cid: string }> }>()
    for (const [key, { first, last }] of perDoc) {
      if (this.#byDoc.has(key)) {
        if (origin === 'local' || !last.after.deleted) changes.dels.add(key)
        continue
      }
      if (origin !== 'remote' || opts === null) continue
      if (first.before === undefined) {
        this.#arrived.add([first.docID], now)
        continue
      }
      if (first.before.deleted || !last.after.deleted) continue
      if (this.#arrived.has(first.docID)) continue
      const cid = deleteWinner(last.after) ?? last.cid
      const author = authors.get(cid) ?? last.author
      if (author === this.#self) continue
      const group = `${author}!${first.collection}`
      let candidate = candidates.get(group)
      if (candidate === undefined) candidates.set(group, candidate = { author, collection: first.collection, docs: [] })
      candidate.docs.push({ key, docID: first.docID, cid })
    }
    for (const [group, { author, collection, docs }] of candidates) {
      const open = this.#openBatch(author, collection)
      if (open !== undefined) {
        // While a batch waits for the person, further deletions of that device there join it.
        changes.batches.set(open.id, { ...open, lastAt: now })
        for (const d of docs) changes.puts.set(d.key, { batch: open.id, cid: d.cid, at: now })
        continue
      }
      let w = this.#windows.get(group)
      if (w === undefined || now - w.start > opts!.windowMs) {
        w = { start: now, liveAtStart: await live(collection), docs: new Map() }
        this.#windows.set(group, w)
      }
      for (const d of docs) w.docs.set(d.key, { docID: d.docID, cid: d.cid, at: now })
      if (w.docs.size <= opts!.minDocs || w.docs.size <= opts!.ratio * w.liveAtStart) continue
      // Tripped: hold every deletion of this window, the earlier ones included.
      this.#windows.delete(group)
      const rec: HeldBatchRecord = { id: newBatchID(), collection, author, firstAt: w.start, lastAt: now, liveAtStart: w.liveAtStart }
      changes.batches.set(rec.id, rec)
      const inCommit = new Set(docs.map((d) => d.key))
      for (const [key, d] of w.docs) {
        if (!inCommit.has(key)) {
          // Deleted by an earlier commit: hold it only if it is still deleted (as this commit leaves it) and not held already.
          const current = await txn.get(this.#store.docs, key) as DocRecord | undefined
          if (current === undefined || !current.deleted || this.#byDoc.has(key)) continue
          if (!perDoc.has(key)) changes.surfaced.push({ collection, docID: d.docID })
        }
        changes.puts.set(key, { batch: rec.id, cid: d.cid, at: d.at })
      }
    }
    this.#dropEmptied(changes)
    return changes
  }

  /** Writes `changes` into the transaction that carries them. */
  write(txn: Txn, changes: HeldChanges): void {
    for (const [id, rec] of changes.batches) if (!changes.droppedBatches.has(id)) txn.put(this.#store.held, `b!${id}`, rec)
    for (const id of changes.droppedBatches) txn.del(this.#store.held, `b!${id}`)
    for (const [key, held] of changes.puts) txn.put(this.#store.held, `d!${key}`, held)
    for (const key of changes.dels) txn.del(this.#store.held, `d!${key}`)
  }

  /** After the transaction committed. */
  committed(changes: HeldChanges): void {
    for (const [id, rec] of changes.batches) {
      if (changes.droppedBatches.has(id)) continue
      const b = this.#batches.get(id)
      if (b === undefined) this.#batches.set(id, { rec, docs: new Set() })
      else b.rec = rec
    }
    for (const key of changes.dels) {
      const held = this.#byDoc.get(key)
      if (held === undefined) continue
      this.#byDoc.delete(key)
      this.#batches.get(held.batch)?.docs.delete(key)
    }
    for (const [key, held] of changes.puts) {
      this.#byDoc.set(key, held)
      this.#batches.get(held.batch)?.docs.add(key)
    }
    for (const id of changes.droppedBatches) this.#batches.delete(id)
  }

  #openBatch(author: DeviceID, collection: CollectionID): HeldBatchRecord | undefined {
    for (const b of this.#batches.values()) if (b.rec.author === author && b.rec.collection === collection) return b.rec
    return undefined
  }

  /** Batches left with no document by `changes` end with them. */
  #dropEmptied(changes: HeldChanges): void {
    if (changes.dels.size === 0) return
    const touched = new Set<string>()
    for (const key of changes.dels) { const h = this.#byDoc.get(key); if (h !== undefined) touched.add(h.batch) }
    for (const id of touched) {
      const b = this.#batches.get(id)!
      let left = 0
      for (const k of b.docs) if (!changes.dels.has(k)) left++
      for (const h of changes.puts.values()) if (h.batch === id) left++
      if (left === 0) changes.droppedBatches.add(id)
    }
  }

  #prune(now: number, windowMs: number): void {
    this.#arrived.prune(now - Math.max(windowMs, ARRIVAL_GRACE_MS))
    for (const [group, w] of this.#windows) if (now - w.start > windowMs) this.#windows.delete(group)
  }
}

/**
 * Documents that arrived from another device lately (they do not count toward a hold for a while),
 * kept as the lists of docIDs the commits brought, oldest first. Which documents they hold is asked
 * only of a remote deletion, so the set of them is built at the first such question and kept up to
 * date from then on: a catch-up of new documents (no deletions) adds each commit's list and nothing
 * per document (a Map entry per document was ~1% of a bulk sync's event loop).
 */
class Arrivals {
  #lists: Array<{ at: number; docs: readonly string[] }> = []
  #count = 0
  #index: Set<string> | null = null

  /** Notes documents that arrived at `at`; the oldest lists go once more than MAX_ARRIVED are noted. */
  add(docs: readonly string[], at: number): void {
    if (docs.length === 0) return
    this.#lists.push({ at, docs })
    this.#count += docs.length
    if (this.#index !== null) for (const d of docs) this.#index.add(d)
    while (this.#count > MAX_ARRIVED && this.#lists.length > 1) this.#drop()
  }

  has(docID: string): boolean {
    if (this.#index === null) {
      this.#index = new Set()
      for (const { docs } of this.#lists) for (const d of docs) this.#index.add(d)
    }
    return this.#index.has(docID)
  }

  /** Forgets what arrived before `before` (ms). */
  prune(before: number): void {
    while (this.#lists.length > 0 && this.#lists[0]!.at < before) this.#drop()
  }

  #drop(): void {
    const { docs } = this.#lists.shift()!
    this.#count -= docs.length
    // A document may be in a later list too: the set is built again when next asked for.
    this.#index = null
  }
}

/** The CID of the block whose `_deleted` currently wins in a record. */
function deleteWinner(rec: DocRecord): string | undefined {
  return stampOf(rec, DELETED_FIELD)?.[1]
}

function newBatchID(): string {
  return randomBytes(4).toString('hex')
}
