/**
 * The document database of one device: collections under GraphQL schemas, documents whose every
 * change is a signed block in a Merkle DAG, merged as per-field LWW registers, kept in LevelDB.
 * Runs with no network at all; the sync engine feeds it blocks through `applyBlocks` and listens to
 * its `change` events.
 */
import { EventEmitter } from 'node:events'
import { LRUCache } from 'lru-cache'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { TandemError, type ErrorCode } from '../../shared/errors.ts'
import type {
  ApplyResult, BlockCID, CollectionID, ConflictValue, CollectionInfo, CollectionSchema, DeviceID, DocID, DocumentView, FieldSchema, HistoryEntry, ListQuery, ListResult, SchemaConflict, VersionID,
} from '../../shared/types.ts'
import { applyBlock, applyFirstBlockNow, BlockMetaCache, conflictCountKey, docKey, missingParents, PendingIndex, type Applied, type ChangeOrigin, type PendingChanges } from './apply.ts'
import { BlockReader, prefetchTrees } from './stored-blocks.ts'
import { BLOCK_VERSION, blockCID, blockDocID, blockLinks, decodeStoredBlock, DELETED_FIELD, MAX_BLOCK_BYTES, newNonces, onlyFirstBlock, signBlocks, verifyBlock, verifyBlocks, type EncodedBlock, type UnsignedBlock } from './block.ts'
import { cidOf, cidString } from './cid.ts'
import { compareCIDStrings } from './cid.ts'
import { counterValue, stampOf, type Counters, type DocRecord } from './crdt.ts'
import { loadOrCreateIdentity, type DeviceIdentity } from './identity.ts'
import { privateDataDir } from './private-dir.ts'
import { attestFrame, checkAttestation } from './attest.ts'
import { compileQuery } from './query.ts'
import { collectionIDOf, parseSDL, toSDL } from './schema.ts'
import { BUCKET_BYTES, BUCKETS, bucketKey, bucketOf, collectionDigest, emptyBuckets } from './digest.ts'
import { OWN_META_KEYS, WHOLE_SCAN, type Store, type StoredCollection, type Txn } from './store.ts'
import { lastUpgrade, openStore, type LastUpgrade, type UpgradeProgress, type UpgradeStep } from './upgrade.ts'
import { namespaceOn, settingOn, stageOn, type Namespace, type Setting, type StorageTxn } from './namespace.ts'
import { StoredOutbox, type Outbox, type OutboxStaged } from './outbox.ts'
import { recordHeads } from './record-codec.ts'
import { checkFields, fits, validateFields } from './validate.ts'
import { firstVersionID, incompatibility, MAX_VERSIONS, versionFromWire, versionIDOf, VersionSet, fieldWords, type SchemaVersion } from './versions.ts'
import { docIDInKey, foundDocID, splitDocKey, storedBlockCID } from './ids.ts'
import { HeldChanges, HeldDeletes, type HeldBatch, type HeldDoc, type MassDeleteOptions } from './held.ts'

export interface DatabaseOptions {
  /**
   * Which authors' blocks to accept from other devices; `from` is the device that delivered them
   * (when known). Until the device group exists every valid signature is accepted; the sync engine
   * narrows this to the group (and to blocks of former members vouched for by a member).
   */
  isTrustedAuthor?: (author: DeviceID, from: DeviceID | undefined) => boolean
  /** Wall clock for block times (display only); tests pin it. */
  now?: () => number
  /**
   * The mass-delete guard (held.ts): deletions by another device of more than `ratio` of a
   * collection and more than `minDocs` documents within `windowMs` are held until the person
   * releases or rejects them. Defaults 0.5, 20, 60 s; false turns it off.
   */
  massDelete?: MassDeleteOptions | false
  /** Lines for the node's log (a store upgrade at open reports its steps and progress here). */
  log?: (msg: string) => void
  /** A store upgrade's progress while `open` runs it (upgrade.ts). */
  onUpgradeProgress?: (p: UpgradeProgress) => void
  /** For tests only: upgrade steps instead of main/db/upgrades/index.ts (e.g. test steps 4→5→6; see upgrade.ts). */
  upgrades?: readonly UpgradeStep[]
}

/** Blocks checked by `prepareBlocks`, to hand to `applyPrepared` (opaque to callers). */
export interface PreparedBlocks {
  readonly entries: ReadonlyArray<{ bytes: Uint8Array; cid?: string }>
  readonly ids: ReadonlyArray<BlockCID | null>
  readonly before: ReadonlyMap<string, 'duplicate' | 'pending'>
  readonly first: ReadonlyMap<string, number>
  readonly checked: ReadonlyMap<number, EncodedBlock | TandemError>
  readonly from: DeviceID | undefined
  /** The write generation before the store was asked which blocks are here (when it was asked). */
  readonly gen?: number
  /** Blocks the sender wrote itself, covered by its attestation (no signature of their own checked). */
  readonly attested: number
}

export type { ChangeOrigin }
export interface ChangeEvent {
  collection: CollectionID
  docID: DocID
  /** Blocks applied to this document in this change. */
  cids: BlockCID[]
  origin: ChangeOrigin
  deleted: boolean
  /** Documents changed by the same commit (1 for a single edit; large for a bulk import or a resync). */
  batchDocs: number
  /** The document's conflicts appeared or all cleared with this change (absent: no change). */
  conflicts?: 'appeared' | 'cleared'
}
/** Blocks wait (pending) for schema versions this device does not know yet: fetch them from `from`. */
export interface VersionsMissingEvent {
  versions: VersionID[]
  from: DeviceID | undefined
}
/** Concurrent schema versions disagree on a field (see versions.ts): a notice for the person. */
export interface SchemaConflictEvent {
  collection: CollectionID
  name: string
  conflicts: SchemaConflict[]
}

/** What a collection reads and writes under now: the merge of its versions (versions.ts). */
interface Effective {
  version: VersionID
  schema: CollectionSchema
  conflicts: SchemaConflict[]
  /** Fields whose values may not fit (a conflict): checked on read. */
  checked: FieldSchema[]
}

export interface RejectEvent {
  cid: string | null
  reason: string
}

interface DatabaseEvents {
  change: [ChangeEvent]
  /** The held deletions changed (a batch held, grown, released, rejected or emptied): read `heldBatches()`. */
  held: []
  rejected: [RejectEvent]
  collection: [CollectionInfo]
  /** A local schema change (`collection update`): sync tells the connected devices. */
  versions: [CollectionID]
  'versions-missing': [VersionsMissingEvent]
  'schema-conflict': [SchemaConflictEvent]
}

// A bulk create larger than this is refused rather than held in memory at once.
export const MAX_BATCH = 100_000
/** Blocks of recent small local commits kept whole in memory for the moment gossip reads them back. */
const FRESH_BLOCKS = 64
/** `documentHeadsMany` of this many documents or more first looks for buckets with no record here (a look costs about as much as ~20 records' reads). */
const LOOK_FOR_EMPTY_BUCKETS_FROM = 64
const BUCKET_UNKNOWN = 0
const BUCKET_FILLED = 1
const BUCKET_EMPTY = 2

// Set by the class's static block: storeOf (below) reads the private store through it.
let storeAccess: (db: Database) => Store

export class Database extends EventEmitter<DatabaseEvents> {
  static {
    storeAccess = (db) => db.#store
  }

  readonly dir: string
  readonly identity: DeviceIdentity
  readonly #store: Store
  /** Stored blocks back whole (lean ones with their signatures), for sync and backups. */
  readonly #blockReader: BlockReader
  /**
   * The blocks of the last few small local commits, whole, by CID: gossip publishes each edit's
   * block a moment after its commit, and reading it back from LevelDB (and joining its lean form
   * to its tree) was a tenth of an edit's way to the other device.
   */
  readonly #fresh = new LRUCache<string, Uint8Array>({ max: FRESH_BLOCKS })
  readonly #options: DatabaseOptions
  readonly #collections = new Map<string, StoredCollection>() // by ID
  readonly #byName = new Map<string, StoredCollection>()
  /** Schema versions by collection ID, and what each collection reads under now. */
  readonly #versions = new Map<string, VersionSet>()
  readonly #effective = new Map<string, Effective>()
  /** versionID → collection ID, for every version known. */
  readonly #versionOwner = new Map<string, CollectionID>()
  /** Versions blocks of the running apply started to wait for (reported after its commit). */
  readonly #awaitedVersions = new Set<string>()
  readonly #metas = new BlockMetaCache()
  /** Counter fields per schema version ID (a version never changes). */
  readonly #counterCache = new Map<string, Map<string, 'Int' | 'Float'>>()
  #pending!: PendingIndex
  #held!: HeldDeletes
  /** Bucket digests by collection, once read (see bucketDigests). */
  readonly #buckets = new Map<string, Uint8Array>()
  #digestCommits = 0
  /** Per collection, what is known of each bucket's records (BUCKET_*, see #emptyBuckets). */
  readonly #bucketState = new Map<string, Uint8Array>()
  #outbox!: StoredOutbox
  #lastUpgrade: LastUpgrade | null = null
  #lock: Promise<unknown> = Promise.resolve()
  #closed = false

  private constructor(dir: string, identity: DeviceIdentity, store: Store, options: DatabaseOptions) {
    super()
    this.dir = dir
    this.identity = identity
    this.#store = store
    this.#blockReader = new BlockReader(store)
    this.#options = options
  }

  /** Opens (creating on first start) the database in a data directory. */
  static async open(dir: string, options: DatabaseOptions = {}): Promise<Database> {
    await privateDataDir(dir)
    const store = await openStore(join(dir, 'db'), {
      ...(options.upgrades !== undefined ? { upgrades: options.upgrades } : {}),
      ...(options.log !== undefined ? { log: options.log } : {}),
      ...(options.onUpgradeProgress !== undefined ? { onProgress: options.onUpgradeProgress } : {}),
    })
    let identity: DeviceIdentity
    try {
      identity = await loadOrCreateIdentity(dir)
    } catch (err) {
      await store.close()
      throw err
    }
    const db = new Database(dir, identity, store, options)
    try {
      db.#pending = await PendingIndex.load(store)
      db.#held = await HeldDeletes.load(store, identity.deviceID, options.massDelete)
      db.#outbox = await StoredOutbox.load(store, (fn) => db.#exclusive(fn))
      for await (const c of store.schemas.values()) db.#remember(c)
      await db.#loadVersions()
      db.#lastUpgrade = await lastUpgrade(store)
    } catch (err) {
      await store.close()
      throw err
    }
    return db
  }

  get deviceID(): DeviceID {
    return this.identity.deviceID
  }

  /** The last upgrade of this data directory's store format (from, to, when, how long), or null. */
  get lastUpgrade(): LastUpgrade | null {
    return this.#lastUpgrade
  }

  // ---- storage for the parts above the database ----

  /**
   * Typed storage of its own for a part above the database (namespace.ts): values of type `T`
   * (JSON) by string key. `replicators` and `devices` are kept where they always were.
   */
  namespace<T>(name: string): Namespace<T> {
    return namespaceOn<T>(name, this.#store.namespace(name))
  }

  /** One typed value of the node's settings (namespace.ts), e.g. `setting<number>('group.epoch')`. */
  setting<T>(key: string): Setting<T> {
    if (OWN_META_KEYS.has(key)) throw new Error(`"${key}" is the store's own key, not a setting`)
    return settingOn<T>(key, this.#store.meta)
  }

  /**
   * A read-modify-write of namespaces, settings and the outbox that no commit interleaves with:
   * `stage` runs under the write lock, synchronously, reading what its caller keeps in memory and
   * staging writes in `tx`; they commit as one atomic batch, then its `afterCommit` callbacks run,
   * before the lock is released.
   */
  async transact(stage: (tx: StorageTxn) => void): Promise<void> {
    await this.#exclusive(async () => {
      const txn = this.#store.txn()
      const dropped: string[] = []
      const after: Array<() => void> = []
      const returned: unknown = stage({ ...stageOn(txn), dropOutbox: (target) => { dropped.push(target) }, afterCommit: (fn) => { after.push(fn) } })
      if (returned instanceof Promise) throw new TypeError('transact: stage must be synchronous (its writes would be lost after an await)')
      for (const target of dropped) await this.#outbox.drop(txn, target)
      await txn.commit()
      this.#outbox.committed({ dropped })
      for (const fn of after) fn()
    })
  }

  /** The replication outbox (outbox.ts): routes that fill it inside each commit, and what the workers take from it. */
  get outbox(): Outbox {
    return this.#outbox
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#lock.catch(() => {})
    await this.#store.close()
  }

  // ---- collections ----

  /** Adds every collection an SDL string defines, all or none. */
  async addCollections(sdl: string): Promise<CollectionInfo[]> {
    const schemas = parseSDL(sdl)
    return this.#exclusive(async () => {
      for (const s of schemas) {
        if (this.#byName.has(s.name)) {
          throw new TandemError('DUPLICATE_COLLECTION', `A collection named "${s.name}" already exists.`, { collection: s.name })
        }
      }
      const txn = this.#store.txn()
      const now = this.#now()
      const added = schemas.map((schema): StoredCollection => ({ id: collectionIDOf(schema), name: schema.name, schema, sdl, createdAt: now }))
      for (const c of added) {
        txn.put(this.#store.schemas, c.id, c)
        txn.put(this.#store.versions, `${c.id}!${c.id}`, firstVersion(c, this.deviceID))
      }
      await txn.commit()
      const infos = added.map((c) => { this.#remember(c, this.deviceID); return this.#info(c, 0) })
      for (const info of infos) this.emit('collection', info)
      return infos
    })
  }

  async listCollections(): Promise<CollectionInfo[]> {
    const out: CollectionInfo[] = []
    for (const c of this.#collections.values()) out.push(this.#info(c, await this.#count(c.id)))
    return out.sort((a, b) => a.name.localeCompare(b.name))
  }

  /** A collection by name or ID. */
  async getCollection(nameOrID: string): Promise<CollectionInfo> {
    const c = this.#resolve(nameOrID)
    return this.#info(c, await this.#count(c.id), true)
  }

  // ---- documents: local writes ----

  async createDocument(collection: string, fields: unknown): Promise<DocID> {
    const [docID] = await this.createDocuments(collection, [fields])
    return docID!
  }

  /** Creates many documents in one atomic commit with one signature. All or none. */
  async createDocuments(collection: string, inputs: unknown[]): Promise<DocID[]> {
    const c = this.#resolve(collection)
    if (!Array.isArray(inputs) || inputs.length === 0) throw new TandemError('INVALID_INPUT', 'Give at least one document to create.')
    if (inputs.length > MAX_BATCH) throw new TandemError('INVALID_INPUT', `At most ${MAX_BATCH} documents can be created in one call.`)
    const nonces = newNonces(inputs.length)
    const time = this.#now() // one commit, one time (a clock read per document showed in profiles)
    const blocks = inputs.map((input, i): UnsignedBlock => {
      let fields
      try {
        fields = validateFields(this.#eff(c).schema, input, 'create')
      } catch (err) {
        if (err instanceof TandemError && inputs.length > 1) {
          throw new TandemError(err.code, `Document ${i + 1} of ${inputs.length}: ${err.message}`, { ...err.details, index: i })
        }
        throw err
      }
      return this.#unsigned(c, { nonce: nonces[i]!, parents: [], height: 1, fields, time })
    })
    return this.#exclusive(async () => {
      const encoded = await signBlocks(this.identity, blocks)
      const txn = this.#store.txn()
      await prefetchTrees(this.#store, txn, encoded, true)
      const applied: Applied[] = []
      for (const enc of encoded) {
        applied.push(applyFirstBlockNow(this.#store, txn, this.#metas, enc, this.#countersOf(enc)) ?? await applyBlock(this.#store, txn, this.#metas, enc, this.#countersOf(enc)))
      }
      const held = await this.#commit(txn, applied, 'local', undefined)
      if (encoded.length <= FRESH_BLOCKS / 4) for (const enc of encoded) this.#fresh.set(enc.id, enc.bytes)
      this.#emitChanges(applied, 'local', held)
      return applied.map((a) => a.docID)
    })
  }

  /**
   * Sets the given fields (the others keep their values). A document whose deletion is held (it
   * reads as alive) is kept by an edit: the edit also restores it, as the person expects of a
   * document they see and change. The other held documents of its batch stay held.
   */
  async updateDocument(collection: string, docID: string, patch: unknown): Promise<DocumentView> {
    const c = this.#resolve(collection)
    const fields = validateFields(this.#eff(c).schema, patch, 'update')
    for (const f of this.#eff(c).schema.fields) {
      if (f.crdt !== undefined && f.name in fields) {
        throw new TandemError('INVALID_INPUT', `${c.name}.${f.name} is a counter (${f.crdt}): increment it instead (tandem client doc increment ${c.name} ${docID} ${f.name} AMOUNT, documents.increment), so that concurrent changes add up.`, { collection: c.name, field: f.name })
      }
    }
    return this.#change(c, docID, fields, (rec, held) => {
      if (rec.deleted && held !== undefined) return { [DELETED_FIELD]: false }
      if (rec.deleted) throw new TandemError('DOC_DELETED', `Document ${docID} is deleted; restore it before editing.`, { docID })
      return undefined
    })
  }

  /**
   * Adds `amount` to a counter field (`@crdt(type: pncounter|pcounter)`; negative for a pncounter) as
   * a new change. Concurrent increments on any devices add up: the value is the start value plus
   * every increment in the document's DAG.
   */
  async incrementDocument(collection: string, docID: string, field: string, amount: unknown): Promise<DocumentView> {
    const c = this.#resolve(collection)
    const schema = this.#eff(c).schema
    const f = schema.fields.find((x) => x.name === field)
    if (f === undefined) {
      throw new TandemError('UNKNOWN_FIELD', `${c.name} has no field "${field}"; its fields are ${schema.fields.map((x) => x.name).join(', ')}.`, { collection: c.name, field })
    }
    if (f.crdt === undefined) {
      throw new TandemError('INVALID_INPUT', `${c.name}.${field} is not a counter, so it cannot be incremented; set it with doc update, or make a counter field with @crdt(type: pncounter).`, { collection: c.name, field })
    }
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount === 0) {
      throw new TandemError('INVALID_INPUT', `Increment ${c.name}.${field} by a number other than 0.`, { collection: c.name, field })
    }
    if (f.crdt === 'pcounter' && amount < 0) {
      throw new TandemError('INVALID_INPUT', `${c.name}.${field} is a pcounter, which only grows; it cannot be decremented (use @crdt(type: pncounter) for one that can).`, { collection: c.name, field })
    }
    const fields = validateFields(schema, { [field]: amount }, 'update')
    return this.#change(c, docID, fields, (rec, held) => {
      if (rec.deleted && held !== undefined) return { [DELETED_FIELD]: false } // as updateDocument
      if (rec.deleted) throw new TandemError('DOC_DELETED', `Document ${docID} is deleted; restore it before editing.`, { docID })
      return undefined
    })
  }

  /** Deletes a document; one whose deletion is held is deleted by this device too (its hold ends). */
  async deleteDocument(collection: string, docID: string): Promise<DocumentView> {
    const c = this.#resolve(collection)
    return this.#change(c, docID, { [DELETED_FIELD]: true }, (rec, held) => {
      if (rec.deleted && held === undefined) throw new TandemError('DOC_DELETED', `Document ${docID} is already deleted.`, { docID })
      return undefined
    })
  }

  /** Brings a deleted document back, as a new change that replicates like any other. */
  async restoreDocument(collection: string, docID: string): Promise<DocumentView> {
    const c = this.#resolve(collection)
    return this.#change(c, docID, { [DELETED_FIELD]: false }, (rec) => {
      if (!rec.deleted) throw new TandemError('INVALID_INPUT', `Document ${docID} is not deleted.`, { docID })
      return undefined
    })
  }

  async #change(c: StoredCollection, docID: string, fields: Record<string, unknown>,
    check: (rec: DocRecord, held: HeldDoc | undefined) => Record<string, unknown> | undefined): Promise<DocumentView> {
    return this.#exclusive(async () => {
      const key = docKey(c.id, docID)
      const txn = this.#store.txn()
      const rec = await txn.get(this.#store.docs, key)
      if (rec === undefined) throw notFound(c, docID)
      const doc = foundDocID(docID)
      const extra = check(rec, this.#held.get(key))
      const block = this.#unsigned(c, { doc, parents: rec.heads.map((h) => CID.parse(h)), height: rec.h + 1, fields: { ...fields, ...extra } })
      const [enc] = await signBlocks(this.identity, [block])
      const applied = await applyBlock(this.#store, txn, this.#metas, enc!, this.#countersOf(enc!))
      const held = await this.#commit(txn, [applied], 'local', undefined)
      this.#fresh.set(enc!.id, enc!.bytes)
      this.#emitChanges([applied], 'local', held)
      return this.#withConflicts(c, view(c, this.#eff(c), doc, applied.after), applied.after)
    })
  }

  // ---- the mass-delete guard (held.ts) ----

  /** Deletions held by the mass-delete guard, by batch (oldest first). */
  heldBatches(): HeldBatch[] {
    return this.#held.list()
  }

  /** Accepts a held batch: its documents become deleted here (they move to the trash). */
  async releaseHeld(batchID: string): Promise<HeldBatch> {
    return this.#exclusive(async () => {
      const batch = this.#heldBatch(batchID)
      const changes = this.#held.dropBatch(batchID)
      const txn = this.#store.txn()
      this.#held.write(txn, changes)
      await txn.commit()
      this.#held.committed(changes)
      const docs = [...changes.dels].map(splitDocKey)
      for (const d of docs) this.emit('change', { ...d, cids: [], origin: 'remote', deleted: true, batchDocs: docs.length })
      this.emit('held')
      return batch
    })
  }

  /**
   * Rejects a held batch: every document of it still deleted is restored by a new change of this
   * device (one commit), which replicates to every device, the author's too. Nothing is lost: the
   * values the documents had (and any edit merged meanwhile) are what the restore brings back.
   */
  async rejectHeld(batchID: string): Promise<HeldBatch & { restored: number }> {
    return this.#exclusive(async () => {
      const batch = this.#heldBatch(batchID)
      const { docKeys } = this.#held.batch(batchID)!
      const txn = this.#store.txn()
      await txn.prefetch(this.#store.docs, docKeys)
      const blocks: UnsignedBlock[] = []
      for (const key of docKeys) {
        const rec = await txn.get(this.#store.docs, key)
        if (rec === undefined || !rec.deleted) continue
        const c = this.#collections.get(batch.collection)!
        const { docID } = splitDocKey(key)
        blocks.push(this.#unsigned(c, { doc: docID, parents: rec.heads.map((h) => CID.parse(h)), height: rec.h + 1, fields: { [DELETED_FIELD]: false } }))
      }
      const encoded = blocks.length === 0 ? [] : await signBlocks(this.identity, blocks)
      await prefetchTrees(this.#store, txn, encoded, true)
      const applied: Applied[] = []
      for (const enc of encoded) applied.push(await applyBlock(this.#store, txn, this.#metas, enc, this.#countersOf(enc)))
      const held = await this.#commit(txn, applied, 'local', undefined, this.#held.dropBatch(batchID))
      this.#emitChanges(applied, 'local', held)
      return { ...batch, restored: applied.length }
    })
  }

  #heldBatch(batchID: string): HeldBatch {
    const batch = this.#held.list().find((b) => b.id === batchID)
    if (batch === undefined) {
      const ids = this.#held.list().map((b) => b.id)
      throw new TandemError('NOT_FOUND', `There is no held deletion batch "${batchID}"; ${ids.length === 0 ? 'no deletions are held' : `held: ${ids.join(', ')}`}.`, { batch: batchID })
    }
    return batch
  }

  #unsigned(c: StoredCollection, part: Pick<UnsignedBlock, 'parents' | 'height' | 'fields'> & Partial<UnsignedBlock>): UnsignedBlock {
    return { v: BLOCK_VERSION, collection: c.id, schema: this.#eff(c).version, author: this.deviceID, time: part.time ?? this.#now(), ...part }
  }

  // ---- documents: reads ----

  async getDocument(collection: string, docID: string): Promise<DocumentView> {
    const c = this.#resolve(collection)
    const key = docKey(c.id, docID)
    const rec = await this.#store.docs.get(key)
    if (rec === undefined) throw notFound(c, docID)
    return this.#withConflicts(c, view(c, this.#eff(c), foundDocID(docID), rec, this.#held.get(key)), rec)
  }

  /**
   * Adds a document's conflicts to its view: the losing values of each field with several maximal
   * writes (record `x`), read from their blocks; and for a document deleted while another device
   * edited it, those edits. Only documents that have concurrent branches pay the reads.
   */
  async #withConflicts(c: StoredCollection, v: DocumentView, rec: DocRecord): Promise<DocumentView> {
    const deletedBranches = rec.deleted && rec.heads.length > 1
    if (rec.x === undefined && !deletedBranches) return v
    const out: Record<string, ConflictValue[]> = {}
    const winners: Record<string, ConflictValue> = {}
    const shown = new Set(this.#eff(c).schema.fields.map((f) => f.name))
    shown.add(DELETED_FIELD)
    for (const [name, cids] of Object.entries(rec.x ?? {})) {
      if (!shown.has(name)) continue
      const winner = stampOf(rec, name)?.[1]
      for (const cid of cids) {
        const b = await this.#block(cid)
        if (b === undefined) continue
        const entry: ConflictValue = { value: b.fields[name] ?? null, device: b.author, time: b.time, cid }
        if (cid === winner) (winners[name] = entry)
        else (out[name] ??= []).push(entry)
      }
    }
    if (deletedBranches) {
      const edits = await this.#editsConcurrentWithDelete(rec)
      for (const e of edits) {
        const list = out[DELETED_FIELD] ??= []
        if (!list.some((x) => x.cid === e.cid)) list.push(e)
      }
      const del = stampOf(rec, DELETED_FIELD)?.[1]
      if (edits.length > 0 && del !== undefined && winners[DELETED_FIELD] === undefined) {
        const b = await this.#block(del)
        if (b !== undefined) winners[DELETED_FIELD] = { value: true, device: b.author, time: b.time, cid: del }
      }
    }
    if (Object.keys(out).length > 0) {
      v.conflicts = out
      for (const name of Object.keys(winners)) if (out[name] === undefined) delete winners[name]
      v.conflictWinners = winners
    }
    return v
  }

  async #block(cid: BlockCID): Promise<UnsignedBlock | undefined> {
    const bytes = await this.#store.blocks.get(cid)
    return bytes === undefined ? undefined : decodeStoredBlock(bytes)
  }

  /**
   * The edits of a deleted document that the delete did not see: blocks setting fields that are not
   * ancestors of the winning `_deleted` write. They merged into the fields (the document stays
   * deleted, README Deletes) and are shown as conflicts of `_deleted`. Read only for a deleted
   * document with several heads (a delete on top of them all, or a restore, settles it).
   */
  async #editsConcurrentWithDelete(rec: DocRecord): Promise<ConflictValue[]> {
    const del = stampOf(rec, DELETED_FIELD)?.[1]
    if (del === undefined) return []
    const known = new Set<string>([del])
    const stack = [del]
    while (stack.length > 0) {
      const b = await this.#block(stack.pop()!)
      for (const p of b?.parents ?? []) { const ps = blockCID(p); if (!known.has(ps)) { known.add(ps); stack.push(ps) } }
    }
    const out: ConflictValue[] = []
    const seen = new Set<string>()
    const queue = rec.heads.filter((h) => !known.has(h))
    for (const h of queue) seen.add(h)
    while (queue.length > 0) {
      const cid = queue.pop()!
      const b = await this.#block(cid)
      if (b === undefined) continue
      const { [DELETED_FIELD]: _d, ...fields } = b.fields
      if (Object.keys(fields).length > 0) out.push({ value: false, device: b.author, time: b.time, cid, fields })
      for (const p of b.parents) { const ps = blockCID(p); if (!known.has(ps) && !seen.has(ps)) { seen.add(ps); queue.push(ps) } }
    }
    return out.sort((a, b) => compareCIDStrings(a.cid, b.cid))
  }

  /** How many documents of a collection have conflicting edits (kept in `counts`, updated on apply). */
  async conflictCount(collection: string): Promise<number> {
    const c = this.#resolve(collection)
    return (await this.#store.counts.get(conflictCountKey(c.id))) ?? 0
  }

  /**
   * Settles a field's conflict by writing the chosen value — a losing write's (`pick` = its CID) or
   * the winner's — as a new change on top of the current heads, which supersedes every maximal write.
   * `_deleted`: the winner deletes again on top of the concurrent edits (they stay merged in the
   * fields); an edit's or restore's CID restores the document.
   */
  async resolveConflict(collection: string, docID: string, field: string, pick: string): Promise<DocumentView> {
    const c = this.#resolve(collection)
    const current = await this.getDocument(c.id, docID)
    const losing = current.conflicts?.[field]
    if (losing === undefined) {
      const conflicted = Object.keys(current.conflicts ?? {})
      throw new TandemError('NOT_FOUND', `${c.name} ${docID} has no conflict on "${field}"${conflicted.length > 0 ? `; conflicts: ${conflicted.join(', ')}` : ''}.`, { docID, field })
    }
    let chosen: ConflictValue | undefined
    if (pick !== 'winner') {
      chosen = losing.find((l) => l.cid === pick)
      if (chosen === undefined) {
        throw new TandemError('NOT_FOUND', `No conflicting write ${pick} of "${field}"; pick "winner" or one of ${losing.map((l) => l.cid).join(', ')}.`, { docID, field, cid: pick })
      }
    }
    if (field === DELETED_FIELD) {
      const value = chosen === undefined ? current.deleted : chosen.value === true
      return this.#change(c, docID, { [DELETED_FIELD]: value }, () => undefined)
    }
    const value = chosen === undefined ? current.fields[field] : chosen.value
    const fields = validateFields(this.#eff(c).schema, { [field]: value }, 'update')
    return this.#change(c, docID, fields, (rec) => {
      if (rec.deleted) throw new TandemError('DOC_DELETED', `Document ${docID} is deleted; restore it before settling "${field}".`, { docID })
      return undefined
    })
  }

  async listDocuments(collection: string, query: ListQuery = {}): Promise<ListResult> {
    const c = this.#resolve(collection)
    const eff = this.#eff(c)
    const q = compileQuery(eff.schema, query)
    const range = { gte: `${c.id}!`, lt: `${c.id}!\xff` }
    const docs: DocumentView[] = []
    const onlyConflicts = query.conflicts === true
    const shownFields = new Set(eff.schema.fields.map((f) => f.name))
    if (q.plain && !q.deleted && !onlyConflicts) {
      // Key order, and the stored count: a first page costs a page, not a collection scan.
      let skipped = 0
      for await (const [key, rec] of this.#store.docs.iterator(range)) {
        if (docs.length >= q.limit) break
        const held = rec.deleted ? this.#held.get(key) : undefined
        if (rec.deleted && held === undefined) continue
        if (skipped < q.offset) { skipped++; continue }
        docs.push(await this.#withConflicts(c, view(c, eff, docIDInKey(key, c.id.length + 1), rec, held), rec))
      }
      return { total: await this.#count(c.id), docs }
    }
    const matched: Array<{ v: DocumentView; rec: DocRecord }> = []
    for await (const [key, rec] of this.#store.docs.iterator({ ...range, ...WHOLE_SCAN })) {
      const held = rec.deleted ? this.#held.get(key) : undefined
      if ((rec.deleted && held === undefined) !== q.deleted) continue
      // A conflict on a field the current version removed is not shown, so does not count.
      if (onlyConflicts && !(rec.deleted && rec.heads.length > 1) && !Object.keys(rec.x ?? {}).some((n) => n === DELETED_FIELD || shownFields.has(n))) continue
      const v = view(c, eff, docIDInKey(key, c.id.length + 1), rec, held)
      if (q.match(v.fields)) matched.push({ v, rec })
    }
    if (q.compare !== null) {
      const cmp = q.compare
      matched.sort((a, b) => cmp(a.v.fields, b.v.fields) || (a.v.docID < b.v.docID ? -1 : 1))
    }
    const page: DocumentView[] = []
    for (const m of matched.slice(q.offset, q.offset + q.limit)) page.push(await this.#withConflicts(c, m.v, m.rec))
    return { total: matched.length, docs: page }
  }

  /**
   * The current (not deleted) documents of a collection as reads show them, in key order, read
   * from one snapshot a page at a time: what a JSON backup writes, without holding them all.
   */
  async *currentDocuments(collection: string): AsyncGenerator<DocumentView> {
    const c = this.#resolve(collection)
    const eff = this.#eff(c)
    for await (const [key, rec] of this.#store.docs.iterator({ gte: `${c.id}!`, lt: `${c.id}!\xff`, ...WHOLE_SCAN })) {
      const held = rec.deleted ? this.#held.get(key) : undefined
      if (rec.deleted && held === undefined) continue
      yield view(c, eff, docIDInKey(key, c.id.length + 1), rec, held)
    }
  }

  /** A document's blocks in causal order (parents before children; concurrent ones by height, CID). */
  async history(collection: string, docID: string): Promise<HistoryEntry[]> {
    const c = this.#resolve(collection)
    const rec = await this.#store.docs.get(docKey(c.id, docID))
    if (rec === undefined) throw notFound(c, docID)
    const seen = new Set<string>(rec.heads)
    const queue = [...rec.heads]
    const entries: HistoryEntry[] = []
    while (queue.length > 0) {
      const cid = queue.pop()!
      const bytes = await this.#store.blocks.get(cid)
      if (bytes === undefined) continue
      const b = decodeStoredBlock(bytes)
      const parents = b.parents.map(blockCID)
      for (const p of parents) if (!seen.has(p)) { seen.add(p); queue.push(p) }
      const { [DELETED_FIELD]: del, ...fields } = b.fields
      const entry: HistoryEntry = { cid, author: b.author, time: b.time, height: b.height, parents, fields }
      if (typeof del === 'boolean') entry.deleted = del
      entries.push(entry)
    }
    return entries.sort((a, b) => a.height - b.height || compareCIDStrings(a.cid, b.cid))
  }

  // ---- what sync compares ----

  /** The head digest of each collection (equal digests: equal heads, so equal blocks). */
  async collectionDigests(): Promise<Map<CollectionID, Uint8Array>> {
    const out = new Map<CollectionID, Uint8Array>()
    for (const c of this.#collections.values()) out.set(c.id, collectionDigest(await this.bucketDigests(c.id)))
    return out
  }

  /**
   * A collection's bucket digests (BUCKETS × 32 bytes). Kept in memory once read, and updated by
   * every commit: head exchange asks on every connect, and a scan of keys rewritten by each
   * commit is slow while a sync writes them.
   */
  async bucketDigests(collection: CollectionID): Promise<Uint8Array> {
    const cached = this.#buckets.get(collection)
    if (cached !== undefined) return new Uint8Array(cached)
    const generation = this.#digestCommits
    const buckets = emptyBuckets()
    const prefix = `${collection}!`
    for await (const [key, digest] of this.#store.digests.iterator({ gte: prefix, lt: `${prefix}\xff` })) {
      buckets.set(digest, Number.parseInt(key.slice(prefix.length), 16) * BUCKET_BYTES)
    }
    // Cache only a read no commit overlapped (else it may hold digests from before that commit).
    if (generation === this.#digestCommits) this.#buckets.set(collection, new Uint8Array(buckets))
    return buckets
  }

  /** Carries what a commit wrote to the bucket digests into the cache. */
  #digestsCommitted(txn: Txn): void {
    const written = txn.written(this.#store.digests)
    if (written === undefined) return
    this.#digestCommits++
    for (const [key, value] of written) {
      const at = key.lastIndexOf('!')
      const state = this.#bucketState.get(key.slice(0, at))
      if (state !== undefined) state[Number.parseInt(key.slice(at + 1), 16)] = BUCKET_FILLED
      const buckets = this.#buckets.get(key.slice(0, at))
      if (buckets === undefined) continue
      const off = Number.parseInt(key.slice(at + 1), 16) * BUCKET_BYTES
      if (value === undefined) buckets.fill(0, off, off + BUCKET_BYTES)
      else buckets.set(value, off)
    }
  }

  /** Heads of every document of a collection in the given buckets (scans of the records, stored by bucket). */
  async bucketHeads(collection: CollectionID, buckets: readonly number[]): Promise<Array<{ docID: DocID; heads: BlockCID[] }>> {
    const out: Array<{ docID: DocID; heads: BlockCID[] }> = []
    for await (const page of this.bucketHeadsPages(collection, buckets)) for (const d of page) out.push(d)
    return out
  }

  /**
   * `bucketHeads` a page at a time, as LevelDB hands them over, in bucket order: the next page is
   * read while the caller handles this one. A head exchange sends its frames as the pages come,
   * so the asker plans and fetches while the rest is read (a whole slice read first, then sent,
   * reached the asker in bursts, and its fetches waited between them).
   */
  async *bucketHeadsPages(collection: CollectionID, buckets: readonly number[]): AsyncGenerator<Array<{ docID: DocID; heads: BlockCID[] }>> {
    const sorted = [...new Set(buckets)].sort((a, b) => a - b)
    if (sorted.length === 0) return
    const prefix = `${collection}!`
    if (sorted.length > 16) {
      // Many buckets: one scan of the collection (from the first of them to the last) beats an
      // iterator per bucket.
      const wanted = new Set(sorted.map(bucketKey))
      const it = this.#store.docsByBucket.iterator({ gte: `${prefix}${bucketKey(sorted[0]!)}!`, lt: `${prefix}${bucketKey(sorted.at(-1)!)}!\xff`, ...WHOLE_SCAN })
      yield* scanPages(it, (key, text) => {
        const rest = key.slice(prefix.length)
        return wanted.has(rest.slice(0, 2)) ? { docID: docIDInKey(rest, 3), heads: headsOf(text) } : undefined
      })
      return
    }
    for (const b of sorted) {
      const start = `${prefix}${bucketKey(b)}!`
      yield* scanPages(this.#store.docsByBucket.iterator({ gte: start, lt: `${start}\xff`, ...WHOLE_SCAN }), (key, text) => ({ docID: docIDInKey(key, start.length), heads: headsOf(text) }))
    }
  }

  /** The heads of one document, or [] when it is not here. */
  async documentHeads(collection: CollectionID, docID: string): Promise<BlockCID[]> {
    const rec = await this.#store.docs.get(docKey(collection, docID))
    return rec?.heads ?? []
  }

  async hasBlock(cid: string): Promise<boolean> {
    return this.#pending.has(cid) || (await this.#store.blocks.has(cid))
  }

  /** `hasBlock` for many CIDs at once (one multi-read of those not pending). */
  async hasBlocks(cids: readonly string[]): Promise<boolean[]> {
    const pending = cids.map((c) => this.#pending.has(c))
    const stored = await this.storedBlocks(cids.filter((_, i) => !pending[i]))
    let k = 0
    return pending.map((p) => p || stored[k++] === true)
  }

  /** For each CID, true when the block is stored (applied), not merely pending (one multi-read of those not known to be absent). */
  async storedBlocks(cids: readonly string[]): Promise<boolean[]> {
    const unknown = cids.filter((c) => !this.#metas.isNotStored(c))
    if (unknown.length === 0) return cids.map(() => false)
    const gen = this.#metas.generation()
    const found = await this.#store.blocks.hasMany(unknown)
    this.#metas.noteNotStored(unknown.filter((_, i) => found[i] !== true), gen)
    const stored = new Set(unknown.filter((_, i) => found[i] === true))
    return cids.map((c) => stored.has(c))
  }

  /**
   * What a sync should fetch of a peer's heads of these documents: for each, the heads lacking here
   * (not applied: a pending block still lacks ancestors, which the fetch brings) and this device's
   * own heads (where the peer's walk stops). A block is applied only with its document's record,
   * so the records are read first: a head among ours is here, and the first block of a document
   * with no record here (its one head, named by its docID) is not; only the other heads are looked
   * up, whatever the peer says they are. Those known lacking are remembered as not stored, so
   * receiving them asks the store nothing more (`prepareBlocks`).
   */
  async headsToFetch(collection: CollectionID, docs: ReadonlyArray<{ docID: string; heads: readonly BlockCID[] }>): Promise<Array<{ lacking: BlockCID[]; ours: BlockCID[] }>> {
    const gen = this.#metas.generation()
    const ours = await this.documentHeadsMany(collection, docs.map((d) => d.docID))
    const first = docs.map(({ docID, heads }, i) => ours[i]!.length === 0 && onlyFirstBlock(docID, heads))
    this.#metas.noteNotStored(docs.flatMap(({ heads }, i) => (first[i] ? heads : [])), gen)
    const ask = docs.flatMap(({ heads }, i) => (first[i] ? [] : heads.filter((h) => !ours[i]!.includes(h))))
    const found = await this.storedBlocks(ask)
    const stored = new Set(ask.filter((_, i) => found[i]))
    return docs.map(({ heads }, i) => ({ lacking: heads.filter((h) => !ours[i]!.includes(h) && !stored.has(h)), ours: ours[i]! }))
  }

  /** Raw bytes of stored blocks (one multi-read), undefined where not stored. */
  async getBlocks(cids: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    if (cids.length === 0) return []
    return this.#blockReader.whole(await this.#store.blocks.getMany([...cids]))
  }

  /**
   * Height and parents of stored blocks (one multi-read), undefined where not stored: read from the
   * stored form, so a lean block is not made whole (a walk that only follows links did that for
   * every block it passed).
   */
  async blockLinksMany(cids: readonly string[]): Promise<Array<{ height: number; parents: string[] } | undefined>> {
    if (cids.length === 0) return []
    return (await this.#store.blocks.getMany([...cids])).map((v) => v === undefined ? undefined : blockLinks(v))
  }

  /** The heads of many documents of a collection at once ([] where a document is not here). */
  async documentHeadsMany(collection: CollectionID, docIDs: readonly string[]): Promise<BlockCID[][]> {
    if (docIDs.length === 0) return []
    // Documents of buckets that hold no record here are not looked up: a device catching up from
    // nothing asked LevelDB for 100k absent records (~1.6 µs each on the event loop).
    let ask = docIDs
    let at: number[] | null = null
    if (docIDs.length >= LOOK_FOR_EMPTY_BUCKETS_FROM) {
      const buckets = docIDs.map(bucketOf)
      const empty = await this.#emptyBuckets(collection, buckets)
      if (empty.size > 0) {
        at = []
        for (let i = 0; i < buckets.length; i++) if (!empty.has(buckets[i]!)) at.push(i)
        ask = at.map((i) => docIDs[i]!)
      }
    }
    // The records' text: their heads are cut out of it without decoding the fields.
    const texts = ask.length === 0 ? [] : await this.#store.docs.getMany<string, string>(ask.map((d) => docKey(collection, d)), { valueEncoding: 'utf8' })
    const heads = texts.map((t) => (t === undefined ? [] : recordHeads(t)))
    if (at === null) return heads
    const out = docIDs.map((): BlockCID[] => [])
    at.forEach((i, k) => { out[i] = heads[k]! })
    return out
  }

  /**
   * Which of these buckets of a collection hold no document record here. A bucket with a digest
   * holds one. The others are looked at with one iterator: a seek to a bucket finds the first
   * record at or after it, so every bucket before that record's is empty too (a device with no
   * record of the collection learns it of all 256 at once). A bucket found empty is remembered so
   * until a commit writes its digest (#digestsCommitted), as every commit that writes a record in
   * it does. A digest alone cannot say empty: documents whose heads' hashes cancel out (a device
   * could make such a set on purpose) leave their bucket's digest at zero.
   */
  async #emptyBuckets(collection: CollectionID, buckets: readonly number[]): Promise<Set<number>> {
    let state = this.#bucketState.get(collection)
    if (state === undefined) this.#bucketState.set(collection, state = new Uint8Array(BUCKETS))
    const asked = [...new Set(buckets)].sort((a, b) => a - b)
    if (asked.some((b) => state[b] === BUCKET_UNKNOWN)) {
      const digests = await this.bucketDigests(collection)
      for (const b of asked) {
        if (state[b] === BUCKET_UNKNOWN && digests.subarray(b * BUCKET_BYTES, (b + 1) * BUCKET_BYTES).some((x) => x !== 0)) state[b] = BUCKET_FILLED
      }
    }
    const look = asked.filter((b) => state[b] === BUCKET_UNKNOWN)
    // What the look found empty: this call's answer even where a commit filled it meanwhile (the
    // iterator reads the store as it was when made).
    const seenEmpty = new Uint8Array(BUCKETS)
    if (look.length > 0) {
      const prefix = `${collection}!`
      const it = this.#store.docsByBucket.keys({ gte: prefix, lt: `${prefix}\xff` })
      try {
        let known = -1 // buckets up to this one are known from the seeks so far
        for (const b of look) {
          if (b <= known) continue
          it.seek(`${prefix}${bucketKey(b)}!`)
          const key = await it.next()
          const next = key === undefined ? BUCKETS : Number.parseInt(key.slice(prefix.length, prefix.length + 2), 16)
          if (!(next >= b)) break // a key of another shape: leave the rest to the reads
          // A commit that wrote one of these buckets since the iterator was made has marked it filled.
          for (let e = b; e < next; e++) { seenEmpty[e] = 1; if (state[e] === BUCKET_UNKNOWN) state[e] = BUCKET_EMPTY }
          if (next < BUCKETS) state[next] = BUCKET_FILLED
          known = next
        }
      } finally {
        await it.close()
      }
    }
    const empty = new Set<number>()
    for (const b of asked) if (state[b] === BUCKET_EMPTY || seenEmpty[b] === 1) empty.add(b)
    return empty
  }

  /** This device's attestation of a frame of blocks with these CIDs, sent along with it (attest.ts). */
  attest(ids: readonly string[]): Promise<Uint8Array> {
    return attestFrame(this.identity, ids)
  }

  /** The SDL of one collection alone (canonical), to hand to a device that lacks it. */
  collectionSDL(id: string): string | undefined {
    const c = this.#collections.get(id)
    return c === undefined ? undefined : toSDL(c.schema)
  }

  /** The name of a collection by ID (undefined when unknown). */
  collectionName(id: string): string | undefined {
    return this.#collections.get(id)?.name
  }

  hasCollection(id: string): boolean {
    return this.#collections.has(id)
  }

  /** True when only some documents of the collection are kept here (see StoredCollection.partial). */
  isPartial(id: string): boolean {
    return this.#collections.get(id)?.partial === true
  }

  /**
   * Learns a collection another device has: its SDL must define exactly the collection `input` names.
   * Returns false when it is already known. A different collection with the same name here is a
   * conflict, refused.
   */
  async importCollection(input: string, sdl: string, options: { partial?: boolean } = {}): Promise<boolean> {
    const schemas = parseSDL(sdl)
    const schema = schemas.length === 1 ? schemas[0]! : undefined
    const id = schema === undefined ? undefined : collectionIDOf(schema)
    if (schema === undefined || id !== input) {
      throw new TandemError('SCHEMA_INVALID', `The schema sent for collection ${input} does not match its ID.`)
    }
    return this.#exclusive(async () => {
      const known = this.#collections.get(id)
      if (known !== undefined) {
        if (known.partial === true && options.partial !== true) { // now the whole collection comes here
          const whole = { ...known, partial: false }
          await this.#store.schemas.put(id, whole)
          this.#remember(whole)
          this.emit('collection', this.#info(whole, await this.#count(id)))
          return true
        }
        return false
      }
      if (this.#byName.has(schema.name)) {
        throw new TandemError('DUPLICATE_COLLECTION',
          `Another device has a collection "${schema.name}" with a different schema than this device's; it was not synced.`, { collection: schema.name })
      }
      const c: StoredCollection = { id, name: schema.name, schema, sdl: toSDL(schema), createdAt: this.#now() }
      if (options.partial === true) c.partial = true
      const txn = this.#store.txn()
      txn.put(this.#store.schemas, id, c)
      txn.put(this.#store.versions, `${id}!${id}`, firstVersion(c, undefined))
      await txn.commit()
      this.#remember(c)
      this.emit('collection', this.#info(c, 0))
      return true
    })
  }

  // ---- schema versions (versions.ts) ----

  /**
   * A new version of a collection: the SDL names it by its type and gives its whole new shape.
   * Adding fields (optional, or required with a default), removing fields and loosening them are
   * allowed; anything else is refused (SCHEMA_INCOMPATIBLE) and nothing changes. An SDL equal to the
   * current shape makes no version.
   */
  async updateCollection(sdl: string): Promise<CollectionInfo> {
    const schemas = parseSDL(sdl)
    if (schemas.length !== 1) throw new TandemError('INVALID_INPUT', `Update one collection at a time; the schema defines ${schemas.length}.`)
    const next = schemas[0]!
    return this.#exclusive(async () => {
      const c = this.#resolve(next.name)
      const set = this.#versions.get(c.id)!
      const eff = this.#eff(c)
      const problem = incompatibility(c.name, eff.schema.fields, next.fields)
      if (problem !== undefined) throw new TandemError('SCHEMA_INCOMPATIBLE', `Cannot update ${c.name}: ${problem}.`, { collection: c.name })
      const current = new Set(eff.schema.fields.map((f) => f.name))
      for (const f of next.fields) {
        if (current.has(f.name)) continue
        const other = set.shapesOf(f.name).find((old) => old.type !== f.type || old.list !== f.list || old.crdt !== f.crdt)
        if (other !== undefined) {
          throw new TandemError('SCHEMA_INCOMPATIBLE',
            `Cannot update ${c.name}: ${c.name}.${f.name} was ${fieldWords(other)} in an earlier version, and its values are still in the documents' history; add it back as ${other.list ? `[${other.type}]` : other.type}, or choose another name.`,
            { collection: c.name, field: f.name })
        }
      }
      if (JSON.stringify(next.fields) === JSON.stringify(eff.schema.fields)) return this.#info(c, await this.#count(c.id))
      const v: SchemaVersion = { id: '' as VersionID, collection: c.id, parents: [eff.version], name: c.name, fields: next.fields, author: this.deviceID, time: this.#now() }
      v.id = versionIDOf(v)
      const txn = this.#store.txn()
      if (set.add(v)) txn.put(this.#store.versions, `${c.id}!${v.id}`, v)
      this.#versionOwner.set(v.id, c.id)
      // Another device may have made the very same update (a version's ID leaves out its author)
      // and sent blocks under it first: they waited here, and apply now.
      const { applied, held } = await this.#commitVersions(txn, [v.id], undefined)
      this.#refresh(c.id)
      const info = this.#info(c, await this.#count(c.id))
      this.emit('collection', info)
      this.emit('versions', c.id)
      this.#emitChanges(applied, 'remote', held)
      return info
    })
  }

  /** Every version of a collection known here, as sent to other devices (oldest first). */
  schemaVersions(collection: string): SchemaVersion[] {
    return this.#versions.get(collection)?.list() ?? []
  }

  /** The IDs of the versions known here, by collection (what schema sync compares). */
  versionIDs(): Map<CollectionID, VersionID[]> {
    const out = new Map<CollectionID, VersionID[]>()
    for (const set of this.#versions.values()) out.set(set.collection, set.ids() as VersionID[])
    return out
  }

  /** The collection a version belongs to, when it is known here. */
  versionCollection(version: string): CollectionID | undefined {
    return this.#versionOwner.get(version)
  }

  /**
   * Learns versions from another device (any order; each is checked: its ID, its defaults, that it
   * changes nothing incompatibly against its parents). Versions of unknown collections, and ones
   * whose parents are not here (and not among them), are left out. Blocks that waited for a version
   * apply now. Returns how many were new.
   */
  async importVersions(input: unknown[], from?: DeviceID): Promise<number> {
    if (!Array.isArray(input)) throw new TandemError('INVALID_INPUT', 'importVersions takes a list of versions.')
    const checked: SchemaVersion[] = []
    for (const x of input.slice(0, MAX_VERSIONS * 4)) {
      try {
        checked.push(versionFromWire(x))
      } catch (err) {
        this.emit('rejected', { cid: null, reason: (err as Error).message })
      }
    }
    return this.#exclusive(async () => {
      const txn = this.#store.txn()
      const added: SchemaVersion[] = []
      let todo = checked.filter((v) => this.#collections.has(v.collection) && !this.#versionOwner.has(v.id))
      for (let progress = true; progress && todo.length > 0;) {
        progress = false
        const rest: SchemaVersion[] = []
        for (const v of todo) {
          const set = this.#versions.get(v.collection)!
          if (v.parents.length === 0 || set.has(v.id)) continue
          if (!v.parents.every((p) => set.has(p))) { rest.push(v); continue }
          if (set.size >= MAX_VERSIONS) break
          try {
            if (set.add(v)) {
              txn.put(this.#store.versions, `${v.collection}!${v.id}`, v)
              this.#versionOwner.set(v.id, v.collection)
              added.push(v)
              progress = true
            }
          } catch (err) {
            this.emit('rejected', { cid: null, reason: (err as Error).message })
          }
        }
        todo = rest
      }
      if (added.length === 0) return 0
      const touched = [...new Set(added.map((v) => v.collection))]
      // A merge version is derived alike on every device: another one's blocks may wait for it too.
      const merges = touched.flatMap((id) => this.#settle(id, txn) ?? [])
      const { applied, held } = await this.#commitVersions(txn, [...added.map((v) => v.id as string), ...merges], from)
      for (const id of touched) {
        const before = this.#effective.get(id)?.conflicts.length ?? 0
        this.#refresh(id)
        const c = this.#collections.get(id)!
        const eff = this.#eff(c)
        if (eff.conflicts.length > before) this.emit('schema-conflict', { collection: id, name: c.name, conflicts: eff.conflicts })
        this.emit('collection', this.#info(c, await this.#count(id)))
      }
      this.#emitChanges(applied, 'remote', held)
      return added.length
    })
  }

  /** Reads the versions of every collection (a first version missing on disk is its StoredCollection's schema). */
  async #loadVersions(): Promise<void> {
    const byCollection = new Map<string, SchemaVersion[]>()
    for await (const v of this.#store.versions.values()) {
      let list = byCollection.get(v.collection)
      if (list === undefined) byCollection.set(v.collection, list = [])
      list.push(v)
    }
    for (const [id, first] of this.#versions) {
      // The first version as recorded (with who made it), where it was.
      const recorded = byCollection.get(id)?.find((v) => v.parents.length === 0 && v.id === id)
      const set = recorded === undefined ? first : new VersionSet(recorded)
      this.#versions.set(id, set)
      let todo = (byCollection.get(id) ?? []).filter((v) => v.parents.length > 0)
      for (let progress = true; progress && todo.length > 0;) {
        progress = false
        const rest: SchemaVersion[] = []
        for (const v of todo) {
          if (!v.parents.every((p) => set.has(p))) { rest.push(v); continue }
          set.add(v)
          this.#versionOwner.set(v.id, set.collection)
          progress = true
        }
        todo = rest
      }
      if (set.heads().length > 1) {
        const txn = this.#store.txn()
        this.#settle(id, txn)
        await txn.commit()
      }
      this.#refresh(id)
    }
  }

  /**
   * More than one head (concurrent versions): adds the merge version every device derives alike
   * (parents: the heads; fields: the merge), so new blocks name one version.
   */
  #settle(id: string, txn: Txn): VersionID | undefined {
    const set = this.#versions.get(id)!
    const heads = set.heads()
    if (heads.length <= 1) return undefined
    const v: SchemaVersion = { id: '' as VersionID, collection: set.collection, parents: heads, name: set.name, fields: set.merged().fields, time: this.#now() }
    v.id = versionIDOf(v)
    if (!set.add(v)) return undefined
    this.#versionOwner.set(v.id, set.collection)
    txn.put(this.#store.versions, `${id}!${v.id}`, v)
    return v.id
  }

  /**
   * Commits `txn`, which added the versions `ids`: the blocks that waited for them (and then for
   * those blocks) apply in the same commit. Every path that adds a version goes through here.
   */
  async #commitVersions(txn: Txn, ids: string[], from: DeviceID | undefined): Promise<{ applied: Applied[]; held: HeldChanges }> {
    const changes = this.#pending.changes()
    const applied: Applied[] = []
    await this.#drainWaiters(txn, changes, ids, applied, new Map())
    const held = await this.#commit(txn, applied, 'remote', from)
    this.#pending.apply(changes)
    return { applied, held }
  }

  #refresh(id: string): void {
    const set = this.#versions.get(id)!
    const merged = set.merged()
    const heads = set.heads()
    const conflicted = new Set(merged.conflicts.map((x) => x.field))
    this.#effective.set(id, {
      version: heads.length === 1 ? heads[0]! : firstVersionID(set.collection),
      schema: { name: set.name, fields: merged.fields },
      conflicts: merged.conflicts,
      checked: merged.fields.filter((f) => conflicted.has(f.name)),
    })
  }

  #eff(c: StoredCollection): Effective {
    return this.#effective.get(c.id)!
  }

  /** The schema a block written under `version` is checked against (undefined: not known here yet). */
  #versionSchema(collection: string, version: string): CollectionSchema | undefined {
    const set = this.#versions.get(collection)
    const schema = set?.schemaOf(version)
    if (schema === undefined && this.#versionOwner.has(version)) throw new TandemError('BLOCK_INVALID', `invalid block: schema version ${version} is not one of its collection`)
    return schema
  }

  /** The checks of #checkDecoded that need the block's schema version (for a block that waited for it). */
  #checkFields(enc: EncodedBlock): void {
    const { block } = enc
    const schema = this.#versionSchema(block.collection, block.schema)
    if (schema === undefined) return
    const { [DELETED_FIELD]: _del, ...fields } = block.fields
    const genesis = block.parents.length === 0
    if (genesis || Object.keys(fields).length > 0) validateFields(schema, fields, genesis ? 'create' : 'update')
    if (!genesis) {
      for (const f of schema.fields) {
        const term = fields[f.name]
        if (f.crdt === 'pcounter' && typeof term === 'number' && term < 0) {
          throw new TandemError('BLOCK_INVALID', `invalid block: ${schema.name}.${f.name} is a pcounter, which only grows; it decrements it by ${-term}`)
        }
      }
    }
  }

  /** The counter fields of the schema version a block names (crdt.ts Counters), cached per version. */
  #countersOf(enc: EncodedBlock): Counters | undefined {
    const { block } = enc
    const cached = this.#counterCache.get(block.schema)
    if (cached !== undefined) return cached.size === 0 ? undefined : cached
    const schema = this.#versionSchema(block.collection, block.schema)
    if (schema === undefined) return undefined
    const counters = new Map<string, 'Int' | 'Float'>()
    for (const f of schema.fields) if (f.crdt !== undefined) counters.set(f.name, f.type === 'Float' ? 'Float' : 'Int')
    this.#counterCache.set(block.schema, counters)
    return counters.size === 0 ? undefined : counters
  }

  /** Raw bytes of a stored block (for sync). */
  async getBlock(cid: string): Promise<Uint8Array | undefined> {
    return this.#fresh.get(cid) ?? this.#blockReader.one(await this.#store.blocks.get(cid))
  }

  /** CIDs of blocks received whose ancestors have not all arrived. */
  async pendingBlocks(): Promise<string[]> {
    return this.#store.pending.keys().all()
  }

  /** The parents that these pending blocks lack (neither stored nor pending here): what to fetch for them. */
  async missingParentsOf(pending: readonly string[]): Promise<string[]> {
    const missing = new Set<string>()
    for (const cid of pending) {
      const data = await this.#store.pending.get(cid)
      if (data === undefined) continue
      for (const p of decodeStoredBlock(data).parents) {
        const s = p.toString()
        if (!(await this.hasBlock(s))) missing.add(s)
      }
    }
    return [...missing]
  }

  /** Every stored (applied) block with its CID, in CID order: what a backup copies, and tests compare. */
  async *allBlocks(): AsyncGenerator<{ cid: BlockCID; bytes: Uint8Array }> {
    for await (const page of scanPages(this.#store.blocks.iterator(WHOLE_SCAN), (cid, stored) => ({ cid, stored }))) {
      const whole = await this.#blockReader.whole(page.map((e) => e.stored))
      for (let i = 0; i < page.length; i++) yield { cid: storedBlockCID(page[i]!.cid), bytes: whole[i]! }
    }
  }

  // ---- blocks from other devices ----

  /**
   * Applies blocks from elsewhere, in any order, with duplicates. Each is checked (canonical bytes,
   * CID, signature, trusted author, schema) before anything is written; blocks whose ancestors are
   * missing wait in the persisted pending set and apply when those arrive. One atomic commit.
   *
   * Blocks already stored or pending here (same CID, so the same bytes, checked when they came)
   * are answered without being checked again. The others are verified together (each signature
   * once, off the event loop), and what applying them reads is read up front in a few multi-gets.
   */
  async applyBlocks(entries: Array<{ bytes: Uint8Array; cid?: string }>, options: { from?: DeviceID; attestation?: Uint8Array; trustedAuthors?: ReadonlySet<string> } = {}): Promise<ApplyResult[]> {
    return this.applyPrepared(await this.prepareBlocks(entries, options))
  }

  /**
   * The first half of `applyBlocks`: every check that needs no lock (duplicates, bytes, CID,
   * signature, author, schema). A receiver can prepare the next batch while the previous one
   * commits, then `applyPrepared` them in order.
   */
  async prepareBlocks(entries: Array<{ bytes: Uint8Array; cid?: string }>, options: { from?: DeviceID; attestation?: Uint8Array; trustedAuthors?: ReadonlySet<string> } = {}): Promise<PreparedBlocks> {
    if (!Array.isArray(entries)) throw new TandemError('INVALID_INPUT', 'applyBlocks takes a list of blocks.')
    // The CID of each well-formed entry, to answer duplicates before any costlier check.
    const cids: Array<CID | null> = entries.map((e) => {
      const b = e?.bytes
      return !(b instanceof Uint8Array) || b.length > MAX_BLOCK_BYTES ? null : cidOf(b)
    })
    const ids: Array<BlockCID | null> = cids.map((c, i) => {
      if (c === null) return null
      const id = blockCID(c)
      return entries[i]!.cid !== undefined && entries[i]!.cid !== id ? null : id
    })
    const first = new Map<string, number>() // CID → index of its first entry in this call
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]
      if (id !== null && id !== undefined && !first.has(id)) first.set(id, i)
    }
    // A block or two (an edit by gossip) skip this read: checking them costs less than the round
    // trip to LevelDB, and the write lock's own check still answers a duplicate.
    const read = entries.length > 2 && first.size > 0
    const gen = read ? this.#metas.generation() : undefined
    // Blocks known not to be stored (a sync planned them as lacking) are not asked of the store.
    const unknown: string[] = []
    if (read) for (const id of first.keys()) if (!this.#metas.isNotStored(id)) unknown.push(id)
    const found = unknown.length === 0 ? [] : await this.#store.blocks.hasMany(unknown)
    const before = new Map<string, 'duplicate' | 'pending'>()
    unknown.forEach((id, i) => { if (found[i] === true) before.set(id, 'duplicate') })
    if (read) for (const id of first.keys()) if (!before.has(id) && this.#pending.has(id)) before.set(id, 'pending')
    const toCheck: number[] = []
    for (let i = 0; i < entries.length; i++) {
      const id = ids[i]
      // Stored or pending before this call, or a repeat of an entry before it.
      if (id !== null && id !== undefined && (before.has(id) || first.get(id) !== i)) continue
      toCheck.push(i)
    }
    // The sender's one signature over every CID of the frame stands for its own blocks' signatures
    // (attest.ts); one that does not hold saves nothing, and every block is checked on its own.
    const attestedBy = options.attestation !== undefined && options.from !== undefined && toCheck.length > 0 &&
      checkAttestation(options.from, ids, options.attestation) ? options.from : undefined
    const verified = await verifyBlocks(toCheck.map((i) => ({ bytes: entries[i]?.bytes as Uint8Array, expected: entries[i]?.cid, cid: ids[i] === null ? undefined : cids[i]! })), { attestedBy })
    const checked = new Map<number, EncodedBlock | TandemError>()
    let attested = 0
    toCheck.forEach((i, k) => {
      const v = verified[k]!
      if (attestedBy !== undefined && !(v instanceof TandemError) && v.block.author === attestedBy) attested++
      checked.set(i, v instanceof TandemError ? v : this.#checkDecoded(v, options.from, options.trustedAuthors))
    })
    return { entries, ids, before, first, checked, from: options.from, gen, attested }
  }

  /** The second half of `applyBlocks`, under the write lock: applies what `prepareBlocks` checked, in one commit. */
  async applyPrepared(prepared: PreparedBlocks): Promise<ApplyResult[]> {
    const { entries, ids, before, first, checked } = prepared
    const options = { from: prepared.from }
    return this.#exclusive(async () => {
      const txn = this.#store.txn()
      const changes = this.#pending.changes()
      // Blocks checked before the lock were neither stored nor pending then: only what committed
      // since can have brought them (null: too much committed since to tell, so ask the store).
      const since = prepared.gen === undefined ? null : this.#metas.writtenSince(prepared.gen)
      await this.#prefetch(txn, [...checked.values()].filter((c): c is EncodedBlock => !(c instanceof TandemError)), since === null)
      const results: ApplyResult[] = []
      const resultByCid = new Map<string, ApplyResult>()
      const applied: Applied[] = []
      for (let i = 0; i < entries.length; i++) {
        const item = checked.get(i)
        if (item === undefined) {
          // Stored or pending before this call, or a repeat within it (answered as its first entry now stands).
          const id = ids[i]!
          const prior = before.get(id)
          if (prior !== undefined) { results.push({ cid: id, status: prior }); continue }
          const firstItem = checked.get(first.get(id)!)
          if (firstItem instanceof TandemError) { results.push(this.#reject(null, firstItem)); continue }
          const r = resultByCid.get(id)
          results.push(r === undefined || r.status === 'rejected' ? { ...(r ?? { cid: id, status: 'rejected', reason: 'rejected' }) } : { cid: id, status: r.status === 'pending' ? 'pending' : 'duplicate' })
          continue
        }
        if (item instanceof TandemError) {
          results.push(this.#reject(null, item))
          continue
        }
        const absent = since !== null && !since.has(item.id)
        const res = (absent ? this.#applyFirstNow(txn, item, applied) : null) ?? await this.#applyOne(txn, changes, item, applied, absent)
        results.push(res)
        resultByCid.set(item.id, res)
      }
      // Blocks that were pending (from before, or earlier in this call) and now complete.
      await this.#drainWaiters(txn, changes, applied.map((a) => a.cid as string), applied, resultByCid)
      const held = await this.#commit(txn, applied, 'remote', options.from)
      this.#pending.apply(changes)
      if (changes.added.size > 0) this.#metas.notePending([...changes.added.values()].flatMap((s) => [...s]))
      this.#emitChanges(applied, 'remote', held)
      const unknown = [...changes.added.keys()].filter((m) => this.#awaitedVersions.has(m) && !this.#versionOwner.has(m))
      this.#awaitedVersions.clear()
      if (unknown.length > 0) this.emit('versions-missing', { versions: unknown as VersionID[], from: options.from })
      return results
    })
  }

  /**
   * Applies the pending blocks that waited for `frontier` (blocks just applied, or schema versions
   * just learned) and can apply now, and then those that waited for them, in `txn`.
   */
  async #drainWaiters(txn: Txn, changes: PendingChanges, frontier: string[], applied: Applied[], resultByCid: Map<string, ApplyResult>): Promise<void> {
    while (frontier.length > 0) {
      const next: string[] = []
      for (const cid of frontier) {
        for (const waiter of changes.waitersOf(cid)) {
          const bytes = await txn.get(this.#store.pending, waiter)
          if (bytes === undefined) continue
          const enc = await verifyBlock(bytes, waiter).catch((err: unknown) => rejection(err))
          if (enc instanceof TandemError) continue
          if (!this.#versionOwner.has(enc.block.schema)) continue
          if ((await missingParents(this.#store, txn, this.#metas, enc)).length > 0) continue
          changes.drop(this.#store, txn, enc)
          try {
            this.#checkFields(enc)
            applied.push(await applyBlock(this.#store, txn, this.#metas, enc, this.#countersOf(enc)))
            const r = resultByCid.get(waiter)
            if (r !== undefined) r.status = 'applied'
            next.push(waiter)
          } catch (err) {
            const r = this.#reject(enc.id, rejection(err))
            const prior = resultByCid.get(waiter)
            if (prior !== undefined) Object.assign(prior, r)
          }
        }
      }
      frontier = next
    }
  }

  /**
   * Reads at once what applying these blocks will read: whether they and their parents are here,
   * their parents' metadata, and the records of the documents they continue.
   */
  async #prefetch(txn: Txn, blocks: EncodedBlock[], presence = true): Promise<void> {
    if (blocks.length === 0) return
    // The batch's own CIDs, when needed: a frame of first blocks (a catch-up) links nothing, and
    // when the caller knows what was written since it was checked, presence is not read.
    const inBatch = presence || blocks.some((b) => b.block.parents.length > 0) ? new Set(blocks.map((b) => b.id as string)) : null
    const parents = new Set<string>()
    const docs = new Set<string>()
    for (const { block, cid } of blocks) {
      if (block.parents.length === 0) continue
      for (const p of block.parents) { const s = cidString(p.bytes); if (!inBatch!.has(s)) parents.add(s) }
      docs.add(docKey(block.collection, blockDocID(block, cid)))
    }
    await Promise.all([
      presence ? txn.prefetchHas(this.#store.blocks, [...inBatch!]) : undefined,
      prefetchTrees(this.#store, txn, blocks),
      this.#metas.prefetch(txn, this.#store, parents),
      txn.prefetch(this.#store.docs, [...docs]),
    ])
  }

  /**
   * `#applyOne` of a document's first block known to be absent, when applying it needs no read
   * (apply.ts `applyFirstBlockNow`): no promise, no await. Null when it does need one.
   */
  #applyFirstNow(txn: Txn, enc: EncodedBlock, applied: Applied[]): ApplyResult | null {
    if (enc.block.parents.length !== 0 || !this.#versionOwner.has(enc.block.schema)) return null
    let a: Applied | null
    try {
      a = applyFirstBlockNow(this.#store, txn, this.#metas, enc, this.#countersOf(enc))
    } catch (err) {
      return this.#reject(enc.id, rejection(err))
    }
    if (a === null) return null
    applied.push(a)
    return { cid: enc.id, status: 'applied' }
  }

  /** `absent`: known to be neither stored nor pending (checked before the lock, nothing written since). */
  async #applyOne(txn: Txn, changes: PendingChanges, enc: EncodedBlock, applied: Applied[], absent = false): Promise<ApplyResult> {
    const cid = enc.id
    if (!absent) {
      if (txn.knownHas(this.#store.blocks, cid) ?? await txn.has(this.#store.blocks, cid)) return { cid, status: 'duplicate' }
      // Pending: as written in this transaction, else as committed (the index; under the write lock).
      if (txn.knownHas(this.#store.pending, cid) ?? this.#pending.has(cid)) return { cid, status: 'pending' }
    }
    const missing = await missingParents(this.#store, txn, this.#metas, enc)
    if (!this.#versionOwner.has(enc.block.schema)) { missing.push(enc.block.schema); this.#awaitedVersions.add(enc.block.schema) }
    if (missing.length > 0) {
      changes.put(this.#store, txn, enc, missing)
      return { cid, status: 'pending' }
    }
    try {
      applied.push(await applyBlock(this.#store, txn, this.#metas, enc, this.#countersOf(enc)))
      return { cid, status: 'applied' }
    } catch (err) {
      return this.#reject(cid, rejection(err))
    }
  }

  /**
   * Everything about a verified block that does not depend on other blocks: its author is trusted,
   * its fields fit. It reads nothing from the store, only the block: whatever throws in it is about
   * the block, and rejects it.
   */
  #checkDecoded(enc: EncodedBlock, from: DeviceID | undefined, alsoTrusted?: ReadonlySet<string>): EncodedBlock | TandemError {
    try {
      const { block } = enc
      const trusted = this.#options.isTrustedAuthor ?? (() => true)
      // alsoTrusted: authors the person vouched for (a backup restored with --trust-authors).
      if (!trusted(block.author, from) && alsoTrusted?.has(block.author) !== true) {
        throw new TandemError('UNTRUSTED_AUTHOR', `the author ${block.author} is not a device of this group`)
      }
      const c = this.#collections.get(block.collection)
      if (c === undefined) throw new TandemError('UNKNOWN_COLLECTION', `block for unknown collection ${block.collection}`)
      // The fields other than `_deleted` (the block's own object when it has none: no copy).
      const _del = block.fields[DELETED_FIELD]
      let fields = block.fields
      if (_del !== undefined) { const { [DELETED_FIELD]: _, ...rest } = block.fields; fields = rest }
      const genesis = block.parents.length === 0
      if (genesis && _del !== undefined) throw new TandemError('BLOCK_INVALID', 'invalid block: a genesis block cannot delete')
      const some = hasFields(fields)
      if (!genesis && _del === undefined && !some) throw new TandemError('BLOCK_INVALID', 'invalid block: it changes nothing')
      // Written under a version not known here yet: it waits (pending) for it, and is checked then.
      const schema = this.#versionSchema(block.collection, block.schema)
      if (schema === undefined) return enc
      if (genesis || some) checkFields(schema, fields, genesis ? 'create' : 'update')
      return enc
    } catch (err) {
      return toTandem(err)
    }
  }

  #reject(cid: BlockCID | null, err: TandemError): ApplyResult {
    const reason = err.message
    this.emit('rejected', { cid, reason })
    return { cid, status: 'rejected', reason }
  }

  // ---- plumbing ----

  /** Commits `txn` with what the outbox routes and the mass-delete guard add to it; returns the guard's changes. */
  async #commit(txn: Txn, applied: Applied[], origin: ChangeOrigin, from: DeviceID | undefined, extra?: HeldChanges): Promise<HeldChanges> {
    const queued: OutboxStaged | undefined = this.#outbox.stage(txn, applied, origin, from)
    const held = await this.#held.observe(txn, applied, origin, this.#now(), (c) => this.#count(c))
    if (extra !== undefined) {
      for (const k of extra.dels) held.dels.add(k)
      for (const id of extra.droppedBatches) held.droppedBatches.add(id)
    }
    this.#held.write(txn, held)
    await txn.commit()
    this.#outbox.committed(queued)
    this.#metas.committed(txn)
    this.#digestsCommitted(txn)
    this.#held.committed(held)
    return held
  }

  /** Change events for a commit; a document whose deletion is held reads as alive in them. */
  #emitChanges(applied: Applied[], origin: ChangeOrigin, held: HeldChanges): void {
    if (held.surfaced.length === 0 && applied.every((a) => a.before === undefined)) {
      // Each block started a document (a bulk create, a new device catching up): no record before
      // it, so no two are of one document, and none had conflicts. No map of documents to build.
      for (const a of applied) {
        const ev: ChangeEvent = { collection: a.collection, docID: a.docID, cids: [a.cid], origin, deleted: a.after.deleted && this.#held.get(docKey(a.collection, a.docID)) === undefined, batchDocs: applied.length }
        if (a.after.x !== undefined) ev.conflicts = 'appeared'
        this.emit('change', ev)
      }
      if (!held.empty) this.emit('held')
      return
    }
    const byDoc = new Map<string, ChangeEvent>()
    const had = new Map<string, boolean>()
    for (const a of applied) {
      const key = docKey(a.collection, a.docID)
      const ev = byDoc.get(key) ?? { collection: a.collection, docID: a.docID, cids: [], origin, deleted: false, batchDocs: 0 }
      ev.cids.push(a.cid)
      ev.deleted = a.after.deleted && this.#held.get(key) === undefined
      if (!had.has(key)) had.set(key, a.before?.x !== undefined)
      const has = a.after.x !== undefined
      if (had.get(key) !== has) ev.conflicts = has ? 'appeared' : 'cleared'
      else delete ev.conflicts
      byDoc.set(key, ev)
    }
    // Deleted by an earlier commit of the window and held now: alive again as the window shows it.
    for (const d of held.surfaced) {
      const key = docKey(d.collection, d.docID)
      if (!byDoc.has(key)) byDoc.set(key, { ...d, cids: [], origin: 'remote', deleted: false, batchDocs: 0 })
    }
    for (const ev of byDoc.values()) {
      ev.batchDocs = byDoc.size
      this.emit('change', ev)
    }
    if (!held.empty) this.emit('held')
  }

  /** Runs writes one at a time: each reads the state the previous one committed. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new TandemError('CLOSED', 'The database is closed.'))
    const run = this.#lock.then(fn, fn)
    this.#lock = run.catch(() => {})
    return run
  }

  #resolve(nameOrID: string): StoredCollection {
    if (typeof nameOrID !== 'string') throw new TandemError('INVALID_INPUT', 'Name a collection.')
    const c = this.#byName.get(nameOrID) ?? this.#collections.get(nameOrID)
    if (c === undefined) {
      const names = [...this.#byName.keys()]
      throw new TandemError('UNKNOWN_COLLECTION',
        `There is no collection "${nameOrID}"${names.length > 0 ? `; there are ${names.join(', ')}` : ' yet'}.`, { collection: nameOrID })
    }
    return c
  }

  #remember(c: StoredCollection, author?: DeviceID): void {
    this.#collections.set(c.id, c)
    this.#byName.set(c.name, c)
    if (!this.#versions.has(c.id)) {
      this.#versions.set(c.id, new VersionSet(firstVersion(c, author)))
      this.#versionOwner.set(c.id, c.id)
      this.#refresh(c.id)
    }
  }

  #info(c: StoredCollection, count: number, withVersions = false): CollectionInfo {
    const eff = this.#eff(c)
    const set = this.#versions.get(c.id)!
    const info: CollectionInfo = {
      id: c.id, name: c.name, schema: eff.schema, sdl: set.size === 1 ? c.sdl : toSDL(eff.schema), count, createdAt: c.createdAt,
      version: eff.version, versionCount: set.size,
    }
    if (c.partial === true) info.partial = true
    if (eff.conflicts.length > 0) info.conflicts = eff.conflicts
    if (withVersions) info.versions = set.list().map((v) => set.info(v.id))
    return info
  }

  /** Live documents: those alive here, and those whose deletion is held. */
  async #count(id: string): Promise<number> {
    return ((await this.#store.counts.get(id)) ?? 0) + this.#held.count(id)
  }

  #now(): number {
    return (this.#options.now ?? Date.now)()
  }
}

/** Whether an object has a key of its own (without listing its keys). */
function hasFields(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true
  return false
}

function view(c: StoredCollection, eff: Effective, docID: DocID, rec: DocRecord, held?: HeldDoc): DocumentView {
  const fields: Record<string, unknown> = {}
  // Fields of the current schema only (a removed field's values stay in the record, unseen); an
  // older document that never set a field reads its default, or null (a counter: its default plus
  // its increments).
  for (const f of eff.schema.fields) {
    fields[f.name] = f.crdt !== undefined && (f.type === 'Int' || f.type === 'Float')
      ? counterValue(rec, f.name, f.type, f.default)
      : rec.v[f.name] ?? f.default ?? null
  }
  let typeConflicts: Record<string, unknown> | undefined
  for (const f of eff.checked) {
    if (!fits(c.name, f, fields[f.name])) {
      (typeConflicts ??= {})[f.name] = fields[f.name]
      fields[f.name] = f.default ?? null
    }
  }
  const v: DocumentView = {
    docID, collection: c.id, fields, deleted: rec.deleted && held === undefined,
    heads: rec.heads, createdAt: rec.createdAt, updatedAt: rec.updatedAt,
  }
  if (rec.deleted && held !== undefined) v.held = { batch: held.batch, since: held.at }
  if (typeConflicts !== undefined) v.typeConflicts = typeConflicts
  return v
}

/** A collection's first version: its own schema, with the collection's ID. */
function firstVersion(c: StoredCollection, author: DeviceID | undefined): SchemaVersion {
  const v: SchemaVersion = { id: firstVersionID(c.id), collection: c.id, parents: [], name: c.name, fields: c.schema.fields, time: c.createdAt }
  if (author !== undefined) v.author = author
  return v
}

/** Visits every entry of an iterator, a thousand per call into LevelDB (for await costs a promise each). */
/** Entries a scan reads from LevelDB at once. */
const SCAN_PAGE = 1000

/**
 * The entries of an iterator a page at a time, each made into what `visit` returns for it
 * (undefined: left out). The next page is asked of LevelDB before this one is handed over, so the
 * read and the caller's work overlap. The iterator is closed however the caller stops.
 */
async function* scanPages<V, T>(it: { nextv(n: number): Promise<Array<[string, V]>>; close(): Promise<void> }, visit: (key: string, value: V) => T | undefined): AsyncGenerator<T[]> {
  let next = it.nextv(SCAN_PAGE)
  try {
    for (;;) {
      const entries = await next
      if (entries.length === 0) return
      next = it.nextv(SCAN_PAGE)
      const page: T[] = []
      for (const [key, value] of entries) {
        const item = visit(key, value)
        if (item !== undefined) page.push(item)
      }
      if (page.length > 0) yield page
    }
  } finally {
    // A read still running (the caller stopped early) ends before the iterator closes.
    await next.catch(() => {})
    await it.close()
  }
}

/** The heads of a stored record from its text. */
function headsOf(text: string): BlockCID[] {
  return recordHeads(text)
}

function notFound(c: StoredCollection, docID: string): TandemError {
  return new TandemError('NOT_FOUND', `${c.name} has no document ${docID}.`, { collection: c.name, docID })
}

function toTandem(err: unknown): TandemError {
  return err instanceof TandemError ? err : new TandemError('BLOCK_INVALID', `invalid block: ${(err as Error)?.message ?? String(err)}`)
}

/** Codes that say a block itself is wrong (its bytes, signature, author, fields, or place in its document). */
const REJECTS_BLOCK: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BLOCK_INVALID', 'BAD_CID', 'BAD_SIGNATURE', 'UNTRUSTED_AUTHOR', 'UNKNOWN_COLLECTION', 'UNKNOWN_FIELD', 'WRONG_TYPE', 'MISSING_REQUIRED', 'INVALID_INPUT',
])

/**
 * What applying a block threw, as the block's rejection when it says the block is wrong. Anything
 * else (a LevelDB read that failed, a closed store, a bug) is a fault of this device, not of the
 * block: it is thrown on, so the commit is abandoned and the caller gets the error (a sender keeps
 * the batch and sends it again), and no good block is ever recorded as rejected.
 */
function rejection(err: unknown): TandemError {
  if (err instanceof TandemError && REJECTS_BLOCK.has(err.code)) return err
  throw err
}

export { blockDocID }
export type { Applied }

/**
 * The store of a database, for tests and benchmarks that inspect what is on disk (or break it on
 * purpose). Not for main/: outside main/db nothing reaches the store (tests/layout checks).
 */
export function storeOf(db: Database): Store {
  return storeAccess(db)
}
