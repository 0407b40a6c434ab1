/**
 * A device catching up from several holders fetches from the one that wrote the blocks: its frames
 * come with one attestation each, while another holder's blocks are checked here one by one.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import { FETCH_PROBE_CIDS } from '../../main/net/dag-sync/constants.ts'
import { eventually, formGroup, joinGroup, startNode } from '../helpers/nodes.ts'
import { tempDir } from '../helpers/tmp.ts'

const NOTES = 'type Notes { title: String! n: Int }'
const N = 3000

/** Counts the blocks `node` reads to answer DAG-sync requests; `gate` holds its answers until it opens. */
function served(node: TandemNode, gate?: Promise<void>): { blocks: number } {
  const count = { blocks: 0 }
  const read = node.db.getBlocks.bind(node.db)
  node.db.getBlocks = async (cids) => {
    if (gate !== undefined) await gate
    const blocks = await read(cids)
    count.blocks += blocks.filter((b) => b !== undefined).length
    return blocks
  }
  return count
}

test('a fresh device takes what two holders hold from the one that wrote it, after one probe of the other', async (t) => {
  // A writes the documents, then restarts: gossipsub would otherwise still offer its recent
  // messages (the new blocks) to devices that join soon after, and C would get them that way.
  const dir = await tempDir(t)
  const first = await startNode(t, { dataDir: dir })
  await first.db.addCollections(NOTES)
  await first.db.createDocuments('Notes', Array.from({ length: N }, (_, i) => ({ title: `note ${i}`, n: i })))
  await first.stop()
  const a = await startNode(t, { dataDir: dir })
  const b = await startNode(t)
  await b.db.addCollections(NOTES)
  await formGroup([a, b])
  await eventually(async () => (await b.db.listDocuments('Notes')).total === N, `all ${N} documents on B`, 30_000)
  await eventually(() => !a.syncing && !b.syncing, 'A and B done syncing')

  // B answers only once A has answered once, so that C has met both before B's first answer.
  let openB = (): void => {}
  const bGate = new Promise<void>((resolve) => { openB = resolve })
  t.after(() => openB())
  const byA = served(a)
  const readA = a.db.getBlocks
  a.db.getBlocks = async (cids) => { try { return await readA(cids) } finally { openB() } }
  const byB = served(b, bGate)

  const c = await startNode(t)
  await c.db.addCollections(NOTES)
  await formGroup([a, b, c])
  await eventually(async () => (await c.db.listDocuments('Notes')).total === N, `all ${N} documents on C`, 30_000)
  assert.ok(byB.blocks <= 2 * FETCH_PROBE_CIDS, `B, which did not write them, sent no more than its probes (${byB.blocks})`)
  assert.ok(byA.blocks >= N - 2 * FETCH_PROBE_CIDS, `A, their author, sent the rest (${byA.blocks})`)
  const docs = await c.db.listDocuments('Notes', { limit: N })
  assert.deepEqual(docs.docs.map((d) => d.fields.n as number).sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i))
})

test('blocks one holder lacks are fetched, in the same catch-up, from another that has them', async (t) => {
  const opts = { antiEntropyMs: 0 }
  const dir = await tempDir(t)
  const first = await startNode(t, { ...opts, dataDir: dir })
  await first.db.addCollections(NOTES)
  await first.db.createDocuments('Notes', Array.from({ length: N }, (_, i) => ({ title: `note ${i}`, n: i })))
  await first.stop() // restarted: no gossip of the new blocks left to offer (as above)
  const a = await startNode(t, { ...opts, dataDir: dir })
  const b = await startNode(t, opts)
  await b.db.addCollections(NOTES)
  await formGroup([a, b])
  await eventually(async () => (await b.db.listDocuments('Notes')).total === N, `all ${N} documents on B`, 30_000)
  await eventually(() => !a.syncing && !b.syncing, 'A and B done syncing')

  // B answers as a device that lacks every other block would (its heads still name them all).
  const heads = (await b.db.listDocuments('Notes', { limit: N })).docs.flatMap((d) => d.heads)
  const lacks = new Set<string>(heads.filter((_, i) => i % 2 === 0))
  const readB = b.db.getBlocks.bind(b.db)
  let lacked = 0
  let answeredB = (): void => {}
  const bAnswered = new Promise<void>((resolve) => { answeredB = resolve })
  b.db.getBlocks = async (cids) => {
    const got = await readB(cids)
    const out = got.map((bytes, i) => { if (lacks.has(cids[i]!)) { lacked++; return undefined } return bytes })
    answeredB()
    return out
  }
  // A answers only once B has: B's first request (with blocks it lacks) is over before A's.
  const readA = a.db.getBlocks.bind(a.db)
  a.db.getBlocks = async (cids) => { await bAnswered; return readA(cids) }
  t.after(() => answeredB())

  const c = await startNode(t, opts)
  await c.db.addCollections(NOTES)
  await joinGroup(c, [a, b])
  // When C's first sync ends (its plan settled), everything is here: a later sync, which might
  // have fetched what B lacked, is not what brought it.
  const atFirstSync = new Promise<number>((resolve) => {
    c.once('sync', () => { void c.db.listDocuments('Notes', { limit: 0 }).then((r) => resolve(r.total)) })
  })
  assert.equal(await atFirstSync, N, 'every document, by the end of the first sync')
  await eventually(async () => (await c.db.listDocuments('Notes')).total === N, `all ${N} documents on C`, 15_000)
  assert.ok(lacked > 0, `B was asked for blocks it lacks (${lacked})`)
  const docs = await c.db.listDocuments('Notes', { limit: N })
  assert.deepEqual(docs.docs.map((d) => d.fields.n as number).sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i))
})
