/**
 * The merge is a function of the set of blocks: replicas that receive the same blocks — in any order,
 * with duplicates and delays — end identical. Real LevelDB on disk for every replica.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Database } from '../../main/db/database.ts'
import { tempDir } from '../helpers/tmp.ts'
import { allBlocks, visibleState } from '../helpers/replicas.ts'
import { decodeStoredBlock } from '../../main/db/block.ts'
import { compareCIDStrings } from '../../main/db/cid.ts'
import type { DocumentView } from '../../shared/types.ts'

const SDL = 'type Notes { title: String! body: String n: Int tags: [String] likes: Int @crdt(type: pncounter) }'
const SEED = Number(process.env.TANDEM_PROPERTY_SEED ?? 20261128)

type Op =
  | { kind: 'create'; at: number; title: string }
  | { kind: 'update'; at: number; pick: number; n: number; body: string | null }
  | { kind: 'delete' | 'restore'; at: number; pick: number }
  | { kind: 'increment'; at: number; pick: number; by: number }
  | { kind: 'sync'; from: number; to: number; keep: number[]; order: number[] }

const replica = fc.integer({ min: 0, max: 2 })
// Few documents and many edits and syncs, so that concurrent writes to the same field are common.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('create' as const), at: replica, title: fc.string({ maxLength: 8 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('update' as const), at: replica, pick: fc.nat(3), n: fc.integer({ min: -5, max: 5 }), body: fc.option(fc.string({ maxLength: 6 })) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constantFrom('delete' as const, 'restore' as const), at: replica, pick: fc.nat(3) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('increment' as const), at: replica, pick: fc.nat(3), by: fc.integer({ min: -9, max: 9 }).filter((x) => x !== 0) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('sync' as const), from: replica, to: replica, keep: fc.array(fc.nat(11), { maxLength: 12 }), order: fc.array(fc.nat(), { maxLength: 12 }) }), weight: 3 },
)

/** Delivers blocks in a shuffled order, in small batches, with some sent twice. */
async function deliver(to: Database, blocks: Array<{ cid: string; bytes: Uint8Array }>, order: number[]): Promise<void> {
  const list = [...blocks]
  for (let i = list.length - 1; i > 0; i--) {
    const j = (order[i % Math.max(order.length, 1)] ?? i * 7) % (i + 1)
    ;[list[i], list[j]] = [list[j]!, list[i]!]
  }
  const withDups = [...list, ...list.filter((_, i) => (order[i % Math.max(order.length, 1)] ?? 0) % 3 === 0)]
  for (let i = 0; i < withDups.length; i += 3) {
    const results = await to.applyBlocks(withDups.slice(i, i + 3))
    for (const r of results) assert.notEqual(r.status, 'rejected', r.reason)
  }
}

/** Which fields were ever seen in conflict (the property must meet them, not just pass). */
const seen = new Set<string>()

/** A replica's conflicts and counters equal the model computed from the blocks it applied. */
async function checkAgainstDAG(db: Database): Promise<void> {
  const applied = new Set(await db.pendingBlocks())
  const blocks = (await allBlocks(db)).filter((b) => !applied.has(b.cid))
  const model = conflictModel(blocks)
  const likes = counterModel(blocks)
  const { live, trash } = await visibleState(db, 'Notes')
  for (const d of [...live, ...trash]) {
    const shown = shownConflicts(d)
    assert.deepEqual(shown, model.get(d.docID) ?? {}, d.docID)
    for (const name of Object.keys(shown)) seen.add(name)
    assert.equal(d.fields.likes, likes.get(d.docID), `likes of ${d.docID}: the create value plus every increment`)
    if ((likes.get(d.docID) ?? 0) !== String(d.fields.title).length) seen.add('likes')
  }
}

async function run(t: Parameters<typeof tempDir>[0], ops: Op[], finalOrder: number[]): Promise<void> {
  const dbs = await Promise.all([0, 1, 2].map(async () => Database.open(await tempDir(t))))
  try {
    for (const db of dbs) await db.addCollections(SDL)
    for (const op of ops) {
      if (op.kind === 'sync') {
        const blocks = await allBlocks(dbs[op.from]!)
        await deliver(dbs[op.to]!, blocks.filter((_, i) => op.keep.length === 0 || op.keep.includes(i % 12)), op.order)
        await checkAgainstDAG(dbs[op.to]!) // also mid-way, where concurrent branches are common
        continue
      }
      const db = dbs[op.at]!
      if (op.kind === 'create') { await db.createDocument('Notes', { title: op.title, likes: op.title.length }); continue }
      const { live, trash } = await visibleState(db, 'Notes')
      const pool = op.kind === 'restore' ? trash : live
      const doc = pool[op.pick % Math.max(pool.length, 1)]
      if (doc === undefined) continue
      if (op.kind === 'update') await db.updateDocument('Notes', doc.docID, { n: op.n, body: op.body })
      else if (op.kind === 'increment') await db.incrementDocument('Notes', doc.docID, 'likes', op.by)
      else if (op.kind === 'delete') await db.deleteDocument('Notes', doc.docID)
      else await db.restoreDocument('Notes', doc.docID)
    }
    // Everyone gets everyone's blocks, each in its own order.
    for (const [i, to] of dbs.entries()) {
      const blocks = (await Promise.all(dbs.map(allBlocks))).flat()
      await deliver(to, blocks, finalOrder.map((x) => x + i))
    }
    const states = await Promise.all(dbs.map((db) => visibleState(db, 'Notes')))
    assert.deepEqual(states[1], states[0])
    assert.deepEqual(states[2], states[0])
    // Conflicts are part of the states compared above; here they are checked against the DAG.
    await checkAgainstDAG(dbs[0]!)
    for (const db of dbs) assert.deepEqual(await db.pendingBlocks(), [])
  } finally {
    await Promise.all(dbs.map((db) => db.close()))
  }
}

/**
 * The conflicts a DAG has, computed from its blocks alone, independently of the database: per
 * document and field, the writes with no later write of the field among their descendants (the
 * maximal writes); when there are several, all but the LWW winner (greatest height, then CID).
 * A deleted document also shows, under `_deleted`, the field edits that are not ancestors of the
 * winning `_deleted` write. Result: docID → field → losing CIDs, sorted.
 */
function conflictModel(blocks: Array<{ cid: string; bytes: Uint8Array }>): Map<string, Record<string, string[]>> {
  type B = { cid: string; doc: string; height: number; parents: string[]; fields: Record<string, unknown> }
  const byDoc = new Map<string, B[]>()
  for (const { cid, bytes } of blocks) {
    const b = decodeStoredBlock(bytes)
    const doc = b.parents.length === 0 ? `bae-${cid}` : b.doc!
    const list = byDoc.get(doc) ?? []
    list.push({ cid, doc, height: b.height, parents: b.parents.map((p) => p.toString()), fields: b.fields })
    byDoc.set(doc, list)
  }
  const out = new Map<string, Record<string, string[]>>()
  for (const [doc, list] of byDoc) {
    const by = new Map(list.map((b) => [b.cid, b]))
    const ancestors = (cid: string): Set<string> => {
      const seen = new Set<string>()
      const stack = [...by.get(cid)!.parents]
      while (stack.length > 0) { const c = stack.pop()!; if (seen.has(c)) continue; seen.add(c); stack.push(...by.get(c)!.parents) }
      return seen
    }
    const anc = new Map(list.map((b) => [b.cid, ancestors(b.cid)]))
    const later = (a: B, b: B): boolean => a.height !== b.height ? a.height > b.height : compareCIDStrings(a.cid, b.cid) > 0
    const result: Record<string, string[]> = {}
    const names = new Set(list.flatMap((b) => Object.keys(b.fields)).filter((n) => n !== 'likes')) // a counter: never a conflict
    const winners = new Map<string, B>()
    for (const name of names) {
      const writes = list.filter((b) => name in b.fields)
      const maximal = writes.filter((w) => !writes.some((o) => anc.get(o.cid)!.has(w.cid)))
      const winner = writes.reduce((x, y) => (later(y, x) ? y : x))
      winners.set(name, winner)
      if (maximal.length > 1) result[name] = maximal.filter((m) => m !== winner).map((m) => m.cid)
    }
    const del = winners.get('_deleted')
    if (del !== undefined && del.fields._deleted === true) {
      const before = anc.get(del.cid)!
      const edits = list.filter((b) => b !== del && !before.has(b.cid) && Object.keys(b.fields).some((n) => n !== '_deleted'))
      for (const e of edits) if (!(result._deleted ?? []).includes(e.cid)) (result._deleted ??= []).push(e.cid)
    }
    for (const k of Object.keys(result)) result[k]!.sort(compareCIDStrings)
    if (Object.keys(result).length > 0) out.set(doc, result)
  }
  return out
}

/** A counter's value from the DAG: the sum of what every block of the document set it to. */
function counterModel(blocks: Array<{ cid: string; bytes: Uint8Array }>): Map<string, number> {
  const out = new Map<string, number>()
  for (const { cid, bytes } of blocks) {
    const b = decodeStoredBlock(bytes)
    const doc = b.parents.length === 0 ? `bae-${cid}` : b.doc!
    if (typeof b.fields.likes === 'number') out.set(doc, (out.get(doc) ?? 0) + b.fields.likes)
  }
  return out
}

function shownConflicts(d: DocumentView): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [name, list] of Object.entries(d.conflicts ?? {})) out[name] = list.map((c) => c.cid as string).sort(compareCIDStrings)
  return out
}

test('three replicas with random edits and random, duplicated, delayed delivery converge', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 50 }), fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
      async (ops, order) => run(t, ops, order)),
    { numRuns: 40, seed: SEED },
  )
  // A delete concurrent with an edit needs that edit to land on a document another replica deletes
  // meanwhile; whether random runs meet one depends on CIDs (random nonces, times), so `_deleted`
  // conflicts are asserted by the fixed DAG of the next test, not required here.
  assert.ok(seen.has('n') && seen.has('body') && seen.has('likes'), `conflicts met: ${[...seen].join(', ')}`)
})

test('merge is independent of the order a DAG\'s blocks arrive in', async (t) => {
  // One DAG with concurrent branches: two devices edit the same documents offline, then merge.
  const a = await Database.open(await tempDir(t))
  const b = await Database.open(await tempDir(t))
  t.after(async () => { await a.close(); await b.close() })
  await a.addCollections(SDL)
  await b.addCollections(SDL)
  const ids = await a.createDocuments('Notes', [{ title: 'x' }, { title: 'y' }])
  await b.applyBlocks(await allBlocks(a))
  for (let i = 0; i < 3; i++) {
    await a.updateDocument('Notes', ids[0]!, { n: i, body: `a${i}` })
    await b.updateDocument('Notes', ids[0]!, { n: 10 + i })
    await b.updateDocument('Notes', ids[1]!, { tags: [`b${i}`] })
  }
  await a.deleteDocument('Notes', ids[1]!) // concurrent with b's edits of the same document
  await a.applyBlocks(await allBlocks(b))
  await a.updateDocument('Notes', ids[0]!, { title: 'merged' }) // links both branches
  const blocks = await allBlocks(a)
  const reference = await visibleState(a, 'Notes')
  assert.equal(reference.trash.length, 1, 'a delete wins over concurrent edits')
  assert.deepEqual(reference.trash[0]!.fields.tags, ['b2'], 'yet the concurrent edits are merged, for a restore')
  assert.equal(reference.trash[0]!.conflicts?._deleted?.length, 3, 'and shown: the three concurrent edits, as conflicts of _deleted')
  assert.deepEqual(conflictModel(blocks).get(reference.trash[0]!.docID)?._deleted, reference.trash[0]!.conflicts!._deleted!.map((c) => c.cid as string).sort(compareCIDStrings))
  assert.equal(reference.live[0]?.heads.length ?? reference.live.length, 1)

  const indices = blocks.map((_, i) => i)
  await fc.assert(
    fc.asyncProperty(fc.shuffledSubarray(indices, { minLength: blocks.length, maxLength: blocks.length }), async (perm) => {
      const c = await Database.open(await tempDir(t))
      try {
        await c.addCollections(SDL)
        for (const i of perm) await c.applyBlocks([blocks[i]!]) // one at a time: the most pending
        assert.deepEqual(await visibleState(c, 'Notes'), reference)
      } finally {
        await c.close()
      }
    }),
    { numRuns: 30, seed: SEED },
  )
})
