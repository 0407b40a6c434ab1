/**
 * Where the database brands IDs (shared/types.ts) that it reads back as plain strings: from the keys
 * it wrote, and from input it found to name something. Everything else in main/db gets its IDs
 * typed already (a block's fields, a record's heads, a StoredCollection, a SchemaVersion; they are
 * branded where the block, record or version is decoded and checked), so besides the functions that
 * compute an ID (block.ts `docIDOf`, `blockDocID`, `blockCID`; schema.ts `collectionIDOf`;
 * versions.ts `versionIDOf`) these are the only places a string becomes an ID.
 */
import type { BlockCID, CollectionID, DocID } from '../../shared/types.ts'

/** The collection and document of a docKey (`collection!docID`, apply.ts `docKey`). */
export function splitDocKey(key: string): { collection: CollectionID; docID: DocID } {
  const at = key.indexOf('!')
  return { collection: key.slice(0, at) as CollectionID, docID: key.slice(at + 1) as DocID }
}

/** The docID that ends a key the database wrote (a docKey, a bucket index key), from `at` on. */
export function docIDInKey(key: string, at: number): DocID {
  return key.slice(at) as DocID
}

/** A docID given as input, once the store was found to hold a document under it. */
export function foundDocID(docID: string): DocID {
  return docID as DocID
}

/** A block CID the database stored (a key of `blocks`, an outbox entry): it was computed from the block's bytes. */
export function storedBlockCID(cid: string): BlockCID {
  return cid as BlockCID
}
