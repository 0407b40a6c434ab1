/**
 * The frames of heads an answerer streams (head-exchange.ts), and a fast reader of them. A device
 * catching up on 100k documents reads 50 frames of 2000 documents each while it fetches and commits
 * blocks on the same thread: zod took ~1.9 ms a frame to check one, the reader below ~0.35 ms.
 *
 * Two shapes. The first, `{ docs: [{ c, d, h }] }`, names the collection with every document and
 * every head in full (~195 bytes a document). The compact one, `{ c, g, o }`, which an asker gets when
 * it asks for it (head-exchange.ts, `f: 2`), names the collection once a frame; `g` lists the
 * documents whose one head is their first block (the CID their docID names: nothing to send but the
 * docID), `o` the others with their heads (~65 bytes a document that was never edited).
 */
import * as dagCbor from '@ipld/dag-cbor'
import { z } from 'zod'
import type { BlockCID, CollectionID, DocID } from '../../../shared/types.ts'
import { blockCID, collectionID, docID, isCIDString, isDocIDString, peerErrorMessage } from '../wire.ts'
import { FRAME_DOCS, MAX_HEADS } from './constants.ts'

const heads = z.array(blockCID).min(1).max(MAX_HEADS)
export const HeadsFrame = z.union([
  z.object({ docs: z.array(z.object({ c: collectionID, d: docID, h: heads })).max(FRAME_DOCS) }),
  z.object({ c: collectionID, g: z.array(docID).max(FRAME_DOCS), o: z.array(z.object({ d: docID, h: heads })).max(FRAME_DOCS) })
    .refine((f) => f.g.length + f.o.length <= FRAME_DOCS, `at most ${FRAME_DOCS} documents a frame`),
  z.object({ done: z.literal(true) }),
  peerErrorMessage,
])

export interface HeadsDocs {
  docs: Array<{ c: CollectionID; d: DocID; h: BlockCID[] }>
}

/** A compact frame: one collection; documents whose one head is their first block; the others. */
export interface CompactHeads {
  c: CollectionID
  g: DocID[]
  o: Array<{ d: DocID; h: BlockCID[] }>
}

/** The first block of a document: the CID its docID names (`bae-<CID>`). */
function genesisOf(doc: DocID): BlockCID {
  return doc.slice(4) as BlockCID
}


/** The documents of a frame of either shape, by collection, as the asker keeps them. */
export function docsOf(frame: HeadsDocs | CompactHeads): Map<CollectionID, Array<{ docID: DocID; heads: BlockCID[] }>> {
  const out = new Map<CollectionID, Array<{ docID: DocID; heads: BlockCID[] }>>()
  if ('docs' in frame) {
    for (const { c, d, h } of frame.docs) {
      let list = out.get(c)
      if (list === undefined) out.set(c, list = [])
      list.push({ docID: d, heads: h })
    }
    return out
  }
  const list = new Array<{ docID: DocID; heads: BlockCID[] }>(frame.g.length + frame.o.length)
  let i = 0
  for (const d of frame.g) list[i++] = { docID: d, heads: [genesisOf(d)] }
  for (const { d, h } of frame.o) list[i++] = { docID: d, heads: h }
  if (list.length > 0) out.set(frame.c, list)
  return out
}

/**
 * A frame of documents' heads, checked by hand: the very value the general path (dag-cbor, then
 * HeadsFrame) gives, or null to leave the frame to it (another kind of frame, or one it refuses and
 * words the error for; also one with keys it would drop).
 */
export function readHeadsFrame(data: Uint8Array): HeadsDocs | CompactHeads | null {
  let v: unknown
  try {
    v = dagCbor.decode(data)
  } catch {
    return null
  }
  if (!isPlainObject(v)) return null
  if (hasExactly(v, COMPACT_KEYS)) return readCompact(v)
  if (!hasExactly(v, TOP_KEYS)) return null
  const docs = v.docs
  if (!Array.isArray(docs) || docs.length > FRAME_DOCS) return null
  for (const doc of docs as unknown[]) {
    if (!isPlainObject(doc) || !hasExactly(doc, DOC_KEYS)) return null
    if (!isCIDString(doc.c) || !isDocIDString(doc.d)) return null
    const h = doc.h
    if (!Array.isArray(h) || h.length < 1 || h.length > MAX_HEADS) return null
    for (const cid of h as unknown[]) if (!isCIDString(cid)) return null
  }
  return v as unknown as HeadsDocs
}

function readCompact(v: Record<string, unknown>): CompactHeads | null {
  const { c, g, o } = v
  if (!isCIDString(c) || !Array.isArray(g) || !Array.isArray(o) || g.length + o.length > FRAME_DOCS) return null
  for (const d of g as unknown[]) if (!isDocIDString(d)) return null
  for (const doc of o as unknown[]) {
    if (!isPlainObject(doc) || !hasExactly(doc, OTHER_KEYS) || !isDocIDString(doc.d)) return null
    const h = doc.h
    if (!Array.isArray(h) || h.length < 1 || h.length > MAX_HEADS) return null
    for (const cid of h as unknown[]) if (!isCIDString(cid)) return null
  }
  return v as unknown as CompactHeads
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

const TOP_KEYS = ['docs']
const DOC_KEYS = ['c', 'd', 'h']
const COMPACT_KEYS = ['c', 'g', 'o']
const OTHER_KEYS = ['d', 'h']

/** Whether `o`'s own keys are exactly `keys`. */
function hasExactly(o: Record<string, unknown>, keys: readonly string[]): boolean {
  let n = 0
  for (const key in o) if (Object.hasOwn(o, key)) n++
  return n === keys.length && keys.every((k) => Object.hasOwn(o, k))
}
