/**
 * Applying verified blocks inside a transaction: causal completeness (a block waits in the persisted
 * pending set until every block it links is present), per-document checks against its parents, and
 * the materialized record. Shared by local writes and blocks from other devices, so both follow the
 * same rules.
 */
import { CID } from 'multiformats/cid'
import { LRUCache } from 'lru-cache'
import { TandemError } from '../../shared/errors.ts'
import type { BlockCID, CollectionID, DocID } from '../../shared/types.ts'
import { blockDocID, decodeStoredBlock, DELETED_FIELD, type EncodedBlock } from './block.ts'
import { applyToRecord, type DocRecord } from './crdt.ts'
import { bucketKey, bucketOf, entryHashLatin1 } from './digest.ts'
import type { Store, Txn } from './store.ts'

export interface Applied {
  collection: CollectionID
  docID: DocID
  cid: BlockCID
  before: DocRecord | undefined
  after: DocRecord
}

export function docKey(collection: string, docID: string): string {
  return `${collection}!${docID}`
}

interface BlockMeta {
  height: number
  doc: string
  collection: string
}

/** What the apply step needs of a block's parents; cached because every child asks again. */
export class BlockMetaCache {
  readonly #cache = new LRUCache<string, BlockMeta>({ max: 50_000 })

  async get(txn: Txn, store: Store, cid: string): Promise<BlockMeta | undefined> {
    const hit = this.#cache.get(cid)
    if (hit !== undefined) return hit
    const bytes = await txn.get(store.blocks, cid)
    if (bytes === undefined) return undefined
    const block = decodeStoredBlock(bytes)
    const meta = { height: block.height, doc: blockDocID(block, CID.parse(cid)), collection: block.collection }
    this.#cache.set(cid, meta)
    return meta
  }

  remember(cid: string, meta: BlockMeta): void {
    this.#cache.set(cid, meta)
  }
}

/**
 * Applies one block whose parents are all present. Checks that it continues its document (same
 * document and collection as its parents, height one above the highest), then writes block bytes,
 * record and live count into `txn`. Throws BLOCK_INVALID when it does not fit.
 */
export async function applyBlock(store: Store, txn: Txn, metas: BlockMetaCache, enc: EncodedBlock): Promise<Applied> {
  const { block } = enc
  const cid = enc.id
  const docID = blockDocID(block, cid)
  let maxParent = 0
  for (const p of block.parents) {
    const meta = await metas.get(txn, store, p.toString())
    if (meta === undefined) throw new TandemError('BLOCK_INVALID', `invalid block: parent ${p.toString()} is missing`)
    if (meta.doc !== docID || meta.collection !== block.collection) {
      throw new TandemError('BLOCK_INVALID', `invalid block: parent ${p.toString()} belongs to another document`)
    }
    maxParent = Math.max(maxParent, meta.height)
  }
  if (block.height !== maxParent + 1) {
    throw new TandemError('BLOCK_INVALID', `invalid block: height ${block.height} should be ${maxParent + 1}, one above its parents`)
  }
  const collection = block.collection as CollectionID
  const key = docKey(collection, docID)
  // A genesis block not yet stored starts a document that cannot exist yet (its CID is the docID):
  // skip the read, which is most of the cost of a bulk create.
  const before = block.parents.length === 0 ? undefined : await txn.get(store.docs, key)
  if (before === undefined && block.parents.length > 0) {
    throw new TandemError('BLOCK_INVALID', 'invalid block: its document has no genesis here')
  }
  const after = applyToRecord(before, block, cid)
  txn.put(store.blocks, cid, enc.bytes)
  txn.put(store.docs, key, after)
  updateHeadIndex(store, txn, collection, docID, before?.heads, after.heads)
  metas.remember(cid, { height: block.height, doc: docID, collection })
  const delta = (after.deleted ? 0 : 1) - (before === undefined || before.deleted ? 0 : 1)
  if (delta !== 0) txn.add(store.counts, collection, delta)
  return { collection, docID, cid, before, after }
}

function updateHeadIndex(store: Store, txn: Txn, collection: string, docID: string, old: string[] | undefined, heads: string[]): void {
  const bk = bucketKey(bucketOf(docID))
  txn.put(store.heads, `${collection}!${bk}!${docID}`, heads)
  // One small key per bucket: a single edit rewrites 32 bytes, not the whole collection's digests.
  const key = `${collection}!${bk}`
  if (old !== undefined) txn.xor(store.digests, key, entryHashLatin1(docID, old))
  txn.xor(store.digests, key, entryHashLatin1(docID, heads))
}

/** Parents of a block not yet present (neither stored nor written in this transaction). */
export async function missingParents(store: Store, txn: Txn, enc: EncodedBlock): Promise<string[]> {
  const missing: string[] = []
  for (const p of enc.block.parents) {
    const s = p.toString()
    if (!(await txn.has(store.blocks, s))) missing.push(s)
  }
  return missing
}

export function putPending(store: Store, txn: Txn, enc: EncodedBlock, missing: string[]): void {
  const cid = enc.id
  txn.put(store.pending, cid, enc.bytes)
  for (const m of missing) txn.put(store.waiting, `${m}!${cid}`, '')
}

/** Pending blocks that were waiting for `cid` (to be retried now that it is here). */
export async function waitersOf(store: Store, txn: Txn, cid: string): Promise<string[]> {
  const prefix = `${cid}!`
  const out = new Set<string>()
  for await (const key of store.waiting.keys({ gte: prefix, lt: `${prefix}\xff` })) {
    if (!txn.isDeleted(store.waiting, key)) out.add(key.slice(prefix.length))
  }
  for (const key of txn.keysWritten(store.waiting, prefix)) out.add(key.slice(prefix.length))
  return [...out]
}

/** Removes a pending block and its waiting entries. */
export function dropPending(store: Store, txn: Txn, enc: EncodedBlock): void {
  const cid = enc.id
  txn.del(store.pending, cid)
  for (const p of enc.block.parents) txn.del(store.waiting, `${p.toString()}!${cid}`)
}

export function isDelete(fields: Record<string, unknown>): boolean {
  return fields[DELETED_FIELD] === true
}
