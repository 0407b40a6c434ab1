/**
 * After a chaos run, with every node stopped: opens each data directory, checks the store is whole
 * (every block verifies; every document's record, heads index, digests and counts are exactly what
 * its blocks give), that all nodes hold the same state, and that every acknowledged write is still
 * current or lost only to a block that wins over it in the CRDT order — told apart by the DAG into
 * causally later (a descendant) and concurrent-but-higher (height, CID).
 */
import { isDeepStrictEqual } from 'node:util'
import { CID } from 'multiformats/cid'
import { Database, storeOf } from '../../main/db/database.ts'
import { decodeStoredBlock, DELETED_FIELD, verifyBlock, type Block } from '../../main/db/block.ts'
import { applyToRecord, compareStamps, stampOf, type DocRecord, type Stamp } from '../../main/db/crdt.ts'
import { bucketKey, bucketOf, collectionDigest, emptyBuckets, entryHash, xorInto } from '../../main/db/digest.ts'
import { compareCIDStrings } from '../../main/db/cid.ts'
import type { BlockCID } from '../../shared/types.ts'

export interface AckedWrite {
  op: 'create' | 'update' | 'delete' | 'restore'
  node: number
  /** Index of the op in the schedule. */
  at: number
  docID: string
  cid: string
  height: number
  /** The fields the write set (`_deleted` for delete and restore). */
  fields: Record<string, unknown>
}

interface NormRecord {
  v: Record<string, unknown>
  w: Record<string, Stamp>
  heads: string[]
  h: number
  deleted: boolean
  createdAt: number
  updatedAt: number
}

export interface NodeDump {
  index: number
  records: Map<string, NormRecord>
  blocks: Map<string, Block>
  digests: Record<string, string>
  /** Per collection: its current schema version, fields and version IDs. */
  schemas?: Record<string, unknown>
  problems: string[]
}

export interface VerifyResult {
  problems: string[]
  /** Acked writes whose every field is current on every node. */
  current: number
  /** Acked field writes superseded by a descendant block (causally later). */
  supersededLater: number
  /** Acked field writes superseded by a concurrent block of higher (height, CID). */
  supersededConcurrent: number
  /** Acked field writes neither current nor superseded: must be 0. */
  lost: number
  docs: number
  blocks: number
}

function norm(rec: DocRecord): NormRecord {
  const w: Record<string, Stamp> = {}
  for (const name of Object.keys(rec.w).sort()) w[name] = stampOf(rec, name)!
  const v: Record<string, unknown> = {}
  for (const name of Object.keys(rec.v).sort()) v[name] = rec.v[name]
  return { v, w, heads: [...rec.heads], h: rec.h, deleted: rec.deleted, createdAt: rec.createdAt, updatedAt: rec.updatedAt }
}

/** Opens a stopped node's data directory and checks its store against its own blocks. */
export async function dumpNode(index: number, dir: string): Promise<NodeDump> {
  const problems: string[] = []
  const p = (msg: string): void => { if (problems.length < 50) problems.push(`node ${index}: ${msg}`) }
  let db: Database
  try {
    db = await Database.open(dir)
  } catch (err) {
    return { index, records: new Map(), blocks: new Map(), digests: {}, problems: [`node ${index}: the store does not open: ${(err as Error).message}`] }
  }
  const records = new Map<string, NormRecord>()
  const blocks = new Map<string, Block>()
  const digests: Record<string, string> = {}
  const schemas: Record<string, unknown> = {}
  try {
    const store = storeOf(db)
    for await (const [cid, bytes] of store.blocks.iterator()) {
      try {
        const enc = await verifyBlock(bytes, cid)
        blocks.set(cid, enc.block)
      } catch (err) {
        p(`block ${cid} does not verify: ${(err as Error).message}`)
        blocks.set(cid, decodeStoredBlock(bytes))
      }
    }
    const pending = await store.pending.keys().all()
    if (pending.length > 0) p(`${pending.length} blocks still pending (e.g. ${pending[0]})`)
    const waiting = await store.waiting.keys({ limit: 1 }).all()
    if (waiting.length > 0) p(`waiting entries left: ${waiting[0]}`)

    const raw = new Map<string, DocRecord>()
    for await (const [key, rec] of store.docs.iterator()) raw.set(key, rec)
    const byDoc = new Map<string, string[]>() // docKey → CIDs of its blocks
    for (const [cid, b] of blocks) {
      const doc = b.doc ?? `bae-${cid}`
      const key = `${b.collection}!${doc}`
      let list = byDoc.get(key)
      if (list === undefined) byDoc.set(key, list = [])
      list.push(cid)
    }
    for (const key of byDoc.keys()) if (!raw.has(key)) p(`blocks of ${key} but no record`)
    for (const c of await db.listCollections()) {
      const described = await db.getCollection(c.id)
      schemas[c.id] = { version: c.version, fields: c.schema.fields, versions: described.versions!.map((v) => v.id) }
      const buckets = emptyBuckets()
      let live = 0
      // What head exchange reads: the records scanned bucket by bucket.
      const scanned = new Map((await db.bucketHeads(c.id, Array.from({ length: 256 }, (_, i) => i))).map((d) => [d.docID as string, d.heads]))
      for (const [key, rec] of raw) {
        if (!key.startsWith(`${c.id}!`)) continue
        const docID = key.slice(c.id.length + 1)
        if (!rec.deleted) live++
        xorInto(buckets, bucketOf(docID), entryHash(docID, rec.heads))
        const indexed = scanned.get(docID)
        if (!isDeepStrictEqual(indexed, rec.heads)) p(`${docID}: bucket ${bucketKey(bucketOf(docID))} scan gives heads ${JSON.stringify(indexed)} ≠ record heads ${JSON.stringify(rec.heads)}`)
        // Rebuild the record from the blocks reachable from its heads, parents first.
        const reach: string[] = []
        const seen = new Set<string>()
        const stack: string[] = [...rec.heads]
        while (stack.length > 0) {
          const cid = stack.pop()!
          if (seen.has(cid)) continue
          seen.add(cid)
          const b = blocks.get(cid)
          if (b === undefined) { p(`${docID}: block ${cid} is referenced but missing`); continue }
          reach.push(cid)
          for (const parent of b.parents) stack.push(parent.toString())
        }
        const own = byDoc.get(key) ?? []
        if (own.length !== reach.length) p(`${docID}: ${own.length} blocks stored, ${reach.length} reachable from its heads`)
        reach.sort((a, b) => blocks.get(a)!.height - blocks.get(b)!.height || compareCIDStrings(a, b))
        let rebuilt: DocRecord | undefined
        for (const cid of reach) rebuilt = applyToRecord(rebuilt, blocks.get(cid)!, cid as BlockCID)
        const n = norm(rec)
        if (rebuilt === undefined || !isDeepStrictEqual(norm(rebuilt), n)) {
          p(`${docID}: the stored record is not what its blocks give:\n  stored  ${JSON.stringify(n)}\n  rebuilt ${JSON.stringify(rebuilt && norm(rebuilt))}`)
        }
        records.set(key, n)
      }
      const stored = await db.bucketDigests(c.id)
      if (Buffer.compare(Buffer.from(stored), Buffer.from(buckets)) !== 0) p(`collection ${c.name}: stored bucket digests differ from the records' heads`)
      digests[c.id] = Buffer.from(collectionDigest(stored)).toString('hex')
      if (c.count !== live) p(`collection ${c.name}: count ${c.count} but ${live} live documents`)
    }
  } finally {
    await db.close()
  }
  return { index, records, blocks, digests, schemas, problems }
}

/** Is `ancestor` reachable from `cid` by parent links? */
function descends(blocks: Map<string, Block>, cid: string, ancestor: string): boolean {
  const seen = new Set<string>()
  const stack = [cid]
  while (stack.length > 0) {
    const c = stack.pop()!
    if (c === ancestor) return true
    if (seen.has(c)) continue
    seen.add(c)
    const b = blocks.get(c)
    if (b === undefined) continue
    if (b.height < blocks.get(ancestor)!.height) continue
    for (const parent of b.parents) stack.push((parent as CID).toString())
  }
  return false
}

export function compareNodes(dumps: NodeDump[], acked: AckedWrite[]): VerifyResult {
  const problems = dumps.flatMap((d) => d.problems)
  const result: VerifyResult = { problems, current: 0, supersededLater: 0, supersededConcurrent: 0, lost: 0, docs: 0, blocks: 0 }
  const [first, ...rest] = dumps
  if (first === undefined) return result
  result.docs = first.records.size
  result.blocks = first.blocks.size
  for (const d of rest) {
    if (!isDeepStrictEqual(d.schemas, first.schemas)) problems.push(`node ${d.index} schemas ${JSON.stringify(d.schemas)} ≠ node ${first.index} ${JSON.stringify(first.schemas)}`)
    if (!isDeepStrictEqual(d.digests, first.digests)) problems.push(`node ${d.index} digests ${JSON.stringify(d.digests)} ≠ node ${first.index} ${JSON.stringify(first.digests)}`)
    if (d.blocks.size !== first.blocks.size) problems.push(`node ${d.index} holds ${d.blocks.size} blocks, node ${first.index} ${first.blocks.size}`)
    if (d.records.size !== first.records.size) problems.push(`node ${d.index} holds ${d.records.size} documents, node ${first.index} ${first.records.size}`)
    let shown = 0
    for (const [key, rec] of first.records) {
      if (!isDeepStrictEqual(d.records.get(key), rec) && shown++ < 5) {
        problems.push(`${key} differs: node ${first.index} ${JSON.stringify(rec)}, node ${d.index} ${JSON.stringify(d.records.get(key))}`)
      }
    }
  }
  const keyOf = dumps.map((d) => new Map([...d.records.keys()].map((k) => [k.slice(k.indexOf('!') + 1), k])))
  for (const w of acked) {
    let allCurrent = true
    for (const [i, d] of dumps.entries()) {
      const where = `node ${d.index}: acked ${w.op} #${w.at} on node ${w.node} (${w.cid})`
      if (!d.blocks.has(w.cid)) { problems.push(`${where}: block missing`); result.lost++; allCurrent = false; continue }
      const key = keyOf[i]!.get(w.docID)
      const rec = key === undefined ? undefined : d.records.get(key)
      if (rec === undefined) { problems.push(`${where}: document ${w.docID} missing`); result.lost++; allCurrent = false; continue }
      for (const [name, value] of Object.entries(w.fields)) {
        const win = rec.w[name]
        const mine: Stamp = [w.height, w.cid as BlockCID]
        if (win === undefined) { problems.push(`${where}: field ${name} has no winner`); result.lost++; allCurrent = false; continue }
        if (win[1] === w.cid) {
          const now = name === DELETED_FIELD ? rec.deleted : rec.v[name] ?? null
          if (!isDeepStrictEqual(now, value)) { problems.push(`${where}: ${name} is ${JSON.stringify(now)}, the write set ${JSON.stringify(value)}`); result.lost++; allCurrent = false }
          continue
        }
        allCurrent = false
        if (compareStamps(win, mine) <= 0) {
          problems.push(`${where}: ${name} is won by ${JSON.stringify(win)}, lower than the acked write ${JSON.stringify(mine)}`)
          result.lost++
          continue
        }
        const winner = d.blocks.get(win[1])
        if (winner === undefined || !(name in winner.fields)) { problems.push(`${where}: ${name}'s winner ${win[1]} does not set it`); result.lost++; continue }
        if (d === first) {
          if (descends(d.blocks, win[1], w.cid)) result.supersededLater++
          else result.supersededConcurrent++
        }
      }
    }
    if (allCurrent) result.current++
  }
  return result
}
