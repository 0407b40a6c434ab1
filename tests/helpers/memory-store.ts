/**
 * An in-memory database for protocol tests, without LevelDB: it implements the small interfaces
 * the protocols read and write (DagSyncStore, HeadStore, ReplicaStore) the way Database does at
 * their level — blocks by CID, a block whose parents are missing waits and applies when they
 * come, a document's heads are the blocks no other block of it names as a parent, bucket digests
 * as in main/db/digest.ts — and checks no signature (the real-node tests cover that). `Author`
 * writes real signed blocks for it, with a key made in memory.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { CID } from 'multiformats/cid'
import { BLOCK_VERSION, blockDocID, decodeStoredBlock, newNonces, signBlocks, type EncodedBlock } from '../../main/db/block.ts'
import { cidOf, cidString } from '../../main/db/cid.ts'
import { bucketOf, collectionDigest, emptyBuckets, entryHash, xorInto } from '../../main/db/digest.ts'
import { identityFromKey, type DeviceIdentity } from '../../main/db/identity.ts'
import { firstVersionID } from '../../main/db/versions.ts'
import type { DagSyncStore } from '../../main/net/dag-sync/dag-sync.ts'
import type { HeadStore } from '../../main/net/head-exchange/head-exchange.ts'
import type { ReplicaStore } from '../../main/net/replicate/protocol.ts'
import type { ApplyResult, BlockCID, CollectionID, DeviceID, DocID } from '../../shared/types.ts'

/** A collection ID (a CID string, as head exchange checks) for a name. */
export function collectionID(name: string): CollectionID {
  return cidOf(new TextEncoder().encode(`collection ${name}`)).toString() as CollectionID
}

/** What `prepareBlocks` hands to `applyPrepared` here. */
export interface MemoryPrepared {
  entries: Array<{ bytes: Uint8Array }>
  from: DeviceID | undefined
  /** Attestations are not checked here: none of its blocks counts as attested. */
  attested: 0
}

export class MemoryStore implements DagSyncStore<MemoryPrepared>, HeadStore, ReplicaStore {
  readonly blocks = new Map<string, Uint8Array>()
  readonly pending = new Map<string, Uint8Array>()
  /** collection → docID → heads (sorted). */
  readonly docs = new Map<string, Map<string, string[]>>()
  readonly collections = new Map<string, { sdl: string; partial: boolean }>()
  /** Calls by method name, so a test can tell what a protocol read or wrote. */
  readonly calls: string[] = []
  /** Set to make every call fail as a broken disk would. */
  failWith: Error | null = null

  #call(name: string): void {
    this.calls.push(name)
    if (this.failWith !== null) throw this.failWith
  }

  // ---- DagSyncStore ----

  async getBlocks(cids: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    this.#call('getBlocks')
    return cids.map((c) => this.blocks.get(c))
  }

  async hasBlocks(cids: readonly string[]): Promise<boolean[]> {
    this.#call('hasBlocks')
    return cids.map((c) => this.blocks.has(c) || this.pending.has(c))
  }

  async attest(ids: readonly string[]): Promise<Uint8Array> {
    this.#call('attest')
    return new Uint8Array(64).fill(ids.length % 256) // no signature checked here
  }

  async prepareBlocks(entries: Array<{ bytes: Uint8Array }>, options: { from?: DeviceID }): Promise<MemoryPrepared> {
    this.#call('prepareBlocks')
    return { entries, from: options.from, attested: 0 }
  }

  async applyPrepared(prepared: MemoryPrepared): Promise<ApplyResult[]> {
    this.#call('applyPrepared')
    const results = prepared.entries.map(({ bytes }): ApplyResult => {
      const cid = cidString(cidOf(bytes).bytes) as BlockCID
      if (this.blocks.has(cid)) return { cid, status: 'duplicate' }
      if (this.pending.has(cid)) return { cid, status: 'pending' }
      let parents: string[]
      try {
        parents = decodeStoredBlock(bytes).parents.map((p) => cidString(p.bytes))
      } catch {
        return { cid: null, status: 'rejected', reason: 'not a block' }
      }
      if (parents.some((p) => !this.blocks.has(p))) {
        this.pending.set(cid, bytes)
        return { cid, status: 'pending' }
      }
      this.#apply(cid, bytes)
      return { cid, status: 'applied' }
    })
    // Waiting blocks whose parents are all here now.
    for (let progress = true; progress;) {
      progress = false
      for (const [cid, bytes] of this.pending) {
        if (decodeStoredBlock(bytes).parents.every((p) => this.blocks.has(cidString(p.bytes)))) {
          this.pending.delete(cid)
          this.#apply(cid, bytes)
          const r = results.find((x) => x.cid === cid)
          if (r !== undefined) r.status = 'applied'
          progress = true
        }
      }
    }
    return results
  }

  #apply(cid: string, bytes: Uint8Array): void {
    const block = decodeStoredBlock(bytes)
    this.blocks.set(cid, bytes)
    const docID = blockDocID(block, cid)
    let docs = this.docs.get(block.collection)
    if (docs === undefined) this.docs.set(block.collection, docs = new Map())
    const parents = new Set(block.parents.map((p) => cidString(p.bytes)))
    docs.set(docID, [...(docs.get(docID) ?? []).filter((h) => !parents.has(h)), cid].sort())
  }

  // ---- ReplicaStore ----

  async importCollection(id: string, sdl: string, options: { partial?: boolean }): Promise<boolean> {
    this.#call('importCollection')
    if (this.collections.has(id)) return false
    this.collections.set(id, { sdl, partial: options.partial === true })
    return true
  }

  /** Schema versions received (unchecked here: the database checks them). */
  readonly versions: unknown[] = []

  async importVersions(versions: unknown[]): Promise<number> {
    this.#call('importVersions')
    this.versions.push(...versions)
    return versions.length
  }

  async applyBlocks(entries: Array<{ bytes: Uint8Array }>, options: { from?: DeviceID }): Promise<ApplyResult[]> {
    return this.applyPrepared(await this.prepareBlocks(entries, options))
  }

  // ---- HeadStore ----

  async collectionDigests(): Promise<Map<CollectionID, Uint8Array>> {
    this.#call('collectionDigests')
    const out = new Map<CollectionID, Uint8Array>()
    for (const id of this.collections.keys()) out.set(id as CollectionID, collectionDigest(this.#buckets(id)))
    return out
  }

  async bucketDigests(collection: CollectionID): Promise<Uint8Array> {
    this.#call('bucketDigests')
    return this.#buckets(collection)
  }

  async bucketHeads(collection: CollectionID, buckets: readonly number[]): Promise<Array<{ docID: DocID; heads: BlockCID[] }>> {
    this.#call('bucketHeads')
    const wanted = new Set(buckets)
    return [...(this.docs.get(collection) ?? [])].filter(([docID]) => wanted.has(bucketOf(docID)))
      .map(([docID, heads]) => ({ docID: docID as DocID, heads: heads as BlockCID[] }))
  }

  async *bucketHeadsPages(collection: CollectionID, buckets: readonly number[]): AsyncGenerator<Array<{ docID: DocID; heads: BlockCID[] }>> {
    const all = await this.bucketHeads(collection, buckets)
    for (let i = 0; i < all.length; i += 1000) yield all.slice(i, i + 1000)
  }

  #buckets(collection: string): Uint8Array {
    const buckets = emptyBuckets()
    for (const [docID, heads] of this.docs.get(collection) ?? []) xorInto(buckets, bucketOf(docID), entryHash(docID, heads))
    return buckets
  }
}

/** Writes signed blocks as a device would (a key in memory, no data directory). */
export class Author {
  readonly identity: DeviceIdentity

  private constructor(identity: DeviceIdentity) {
    this.identity = identity
  }

  static async create(): Promise<Author> {
    return new Author(identityFromKey(await generateKeyPair('Ed25519')))
  }

  /** A new document's first block. */
  async genesis(collection: CollectionID, fields: Record<string, unknown>): Promise<EncodedBlock> {
    const [enc] = await signBlocks(this.identity, [{
      v: BLOCK_VERSION, collection, schema: firstVersionID(collection), nonce: newNonces(1)[0]!, parents: [], height: 1, fields, author: this.identity.deviceID, time: 0,
    }])
    return enc!
  }

  /** A change of the document of `parents` (one block, or several concurrent heads). */
  async change(parents: EncodedBlock[], fields: Record<string, unknown>): Promise<EncodedBlock> {
    const first = parents[0]!
    const [enc] = await signBlocks(this.identity, [{
      v: BLOCK_VERSION, collection: first.block.collection, schema: first.block.schema, doc: blockDocID(first.block, first.cid),
      parents: parents.map((p) => p.cid).sort((a: CID, b: CID) => (a.toString() < b.toString() ? -1 : 1)),
      height: Math.max(...parents.map((p) => p.block.height)) + 1, fields, author: this.identity.deviceID, time: 0,
    }])
    return enc!
  }

  /** A document of `n` blocks, each changing the one before. */
  async history(collection: CollectionID, n: number): Promise<EncodedBlock[]> {
    const out = [await this.genesis(collection, { title: 'v1' })]
    for (let i = 2; i <= n; i++) out.push(await this.change([out[out.length - 1]!], { title: `v${i}` }))
    return out
  }
}

/** Puts blocks (parents first) into a store as if it had applied them, and the collection with them. */
export async function holding(store: MemoryStore, collection: CollectionID, blocks: EncodedBlock[]): Promise<MemoryStore> {
  if (!store.collections.has(collection)) store.collections.set(collection, { sdl: `type C${collection.slice(-6)} { title: String }`, partial: false })
  await store.applyBlocks(blocks.map((b) => ({ bytes: b.bytes })), {})
  store.calls.length = 0
  return store
}
