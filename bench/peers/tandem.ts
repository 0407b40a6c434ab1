/**
 * Tandem, measured the same way as the peers, one workload per process (bench/compare.ts runs it):
 *
 *   node bench/peers/tandem.ts --workload w1|w2|w3|w4|w5|w6 --n N [--edits E] [--shared S] [--cap SECONDS]
 *
 *   W1 createDocuments in batches of 1000 on a fresh on-disk LevelDB (after an untimed 200-document
 *      warm-up); also createDocument awaited one at a time for min(N, 10k) docs (like OrbitDB's put).
 *   W2 A holds N documents (made untimed, A restarted from disk); from forming the group (B connects over
 *      TCP on 127.0.0.1, head exchange, DAG sync) to B's remote 'change' for the N-th document. Also the
 *      bytes of A's stored blocks, so compare.ts can set the byte rate against the raw libp2p stream.
 *   W3 A and B connected, 100 shared docs, gossip mesh formed, 20 untimed edits; then E edits one at a
 *      time: from updateDocument on A to B's remote 'change' carrying that block. p50/p99.
 *   W4 A and B share S docs; partition = B.pause() (it closes every connection and dials nobody); each
 *      side makes E edits one at a time, even ones updating a shared doc, odd ones creating a doc; from
 *      B.resume() to the same count and the same collection digest on both, polled every 10 ms.
 *   W5 N docs in one collection (made untimed), then a fresh process opens the node (network on, on
 *      127.0.0.1): open time, first page (50) list latency, RSS, pubsub topics subscribed.
 *   W6 one run of bench/group.ts: groups of 2 to 5 devices, each device in its own process; E edits
 *      to every other device, and a fresh device catching up on N documents from 1 to 4 holders.
 * Both nodes of W2–W4 run in this one process.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Database } from '../../main/db/database.ts'
import type { ChangeEvent } from '../../main/db/database.ts'
import { TandemNode } from '../../main/node/tandem-node.ts'
import { BOOKS, gc, makeDoc, type Doc } from '../common.ts'
import { capMs, devicesArg, dirArg, edits, freshDir, main, n, orTimeout, pollUntil, timeEdits, shared, sleep } from './child.ts'

const BATCH = 1000
const LOOPBACK = '/ip4/127.0.0.1/tcp/0'
const SINGLE_MAX = 10_000

const cut = (docs: Doc[]): Doc[][] => { const out: Doc[][] = []; for (let i = 0; i < docs.length; i += BATCH) out.push(docs.slice(i, i + BATCH)); return out }
const start = async (dataDir?: string): Promise<TandemNode> => TandemNode.start({ dataDir: dataDir ?? await freshDir('tandem'), listen: [LOOPBACK], mdns: false })
const total = async (node: TandemNode): Promise<number> => (await node.db.listDocuments('Books', { limit: 0 })).total

async function formGroup(a: TandemNode, b: TandemNode): Promise<void> {
  await b.group.setSecret(a.group.secret.bytes)
  await a.group.add({ deviceID: b.deviceID, name: 'bench-b', addrs: b.addresses() })
  await b.group.add({ deviceID: a.deviceID, name: 'bench-a', addrs: a.addresses() })
}
const connected = (a: TandemNode, b: TandemNode): boolean => a.connectedDevices().includes(b.deviceID) && b.connectedDevices().includes(a.deviceID)

async function sameState(a: TandemNode, b: TandemNode): Promise<boolean> {
  if ((await total(a)) !== (await total(b))) return false
  const [da, db] = [await a.db.collectionDigests(), await b.db.collectionDigests()]
  if (da.size !== db.size) return false
  for (const [id, d] of da) if (!Buffer.from(d).equals(Buffer.from(db.get(id) ?? new Uint8Array()))) return false
  return true
}

async function writeBulk(batches: Doc[][], until: number): Promise<{ seconds: number; reached: number }> {
  const db = await Database.open(await freshDir('tandem'))
  await db.addCollections(BOOKS)
  gc()
  const t0 = performance.now()
  let reached = 0
  for (const batch of batches) {
    await db.createDocuments('Books', batch)
    reached += batch.length
    if (performance.now() > until) break
  }
  const seconds = (performance.now() - t0) / 1000
  const stored = (await db.getCollection('Books')).count
  await db.close()
  if (stored !== reached) throw new Error(`Tandem W1: ${stored} documents stored, ${reached} written`)
  return { seconds, reached }
}

async function w1(): Promise<Record<string, unknown>> {
  await writeBulk([Array.from({ length: 200 }, (_, i) => makeDoc(i))], Infinity) // untimed warm-up
  const docs = Array.from({ length: n }, (_, i) => makeDoc(i))
  const bulk = await writeBulk(cut(docs), performance.now() + capMs)
  // One at a time, awaited: the like-for-like of OrbitDB's put().
  const db = await Database.open(await freshDir('tandem'))
  await db.addCollections(BOOKS)
  const single = docs.slice(0, Math.min(n, SINGLE_MAX))
  gc()
  const t0 = performance.now()
  let reached = 0
  for (const d of single) { await db.createDocument('Books', d); reached++; if (performance.now() - t0 > capMs) break }
  const singleSeconds = (performance.now() - t0) / 1000
  await db.close()
  return {
    finished: bulk.reached === n, reached: bulk.reached, seconds: bulk.seconds, docsPerSec: bulk.reached / bulk.seconds,
    jsonBytes: docs.reduce((s, d) => s + Buffer.byteLength(JSON.stringify(d)), 0),
    single: { n: single.length, reached, seconds: singleSeconds, docsPerSec: reached / singleSeconds },
  }
}

async function w2(): Promise<Record<string, unknown>> {
  const aDir = await freshDir('tandem')
  const src = await TandemNode.start({ dataDir: aDir, p2p: false })
  await src.db.addCollections(BOOKS)
  for (const batch of cut(Array.from({ length: n }, (_, i) => makeDoc(i)))) await src.db.createDocuments('Books', batch)
  let blockBytes = 0
  for await (const { bytes } of src.db.allBlocks()) blockBytes += bytes.length
  await src.stop()
  const a = await start(aDir)
  const b = await start()
  try {
    await b.db.addCollections(BOOKS)
    const seen = new Set<string>()
    let resolve!: () => void
    const done = new Promise<void>((r) => { resolve = r })
    b.db.on('change', (ev: ChangeEvent) => { if (ev.origin === 'remote') { seen.add(ev.docID); if (seen.size >= n) resolve() } })
    gc()
    const t0 = performance.now()
    await formGroup(a, b)
    await orTimeout(done, t0 + capMs)
    const seconds = (performance.now() - t0) / 1000
    const reached = seen.size
    if (reached >= n && (await total(b)) !== n) throw new Error(`Tandem W2: ${await total(b)} documents on B, ${n} on A`)
    return { finished: reached >= n, reached, seconds, docsPerSec: reached / seconds, blockBytes, bytesPerSec: (blockBytes * reached / n) / seconds }
  } finally {
    await a.stop()
    await b.stop()
  }
}

async function w3(): Promise<Record<string, unknown>> {
  const a = await start()
  const b = await start()
  try {
    await a.db.addCollections(BOOKS)
    await b.db.addCollections(BOOKS)
    const ids = await a.db.createDocuments('Books', Array.from({ length: 100 }, (_, i) => makeDoc(i)))
    await formGroup(a, b)
    if (!await pollUntil(async () => connected(a, b) && (await total(b)) === 100, performance.now() + 30_000)) throw new Error('Tandem W3: B did not get the 100 documents')
    await sleep(1000) // the gossip mesh forms (~25 ms measured on loopback)
    const waiters = new Map<string, (ev: ChangeEvent) => void>()
    b.db.on('change', (ev: ChangeEvent) => { if (ev.origin === 'remote') waiters.get(ev.docID)?.(ev) })
    const edit = async (i: number, until: number): Promise<number | undefined> => {
      const id = ids[i % ids.length]!
      const seen = new Promise<ChangeEvent>((r) => waiters.set(id, r))
      const t0 = performance.now()
      const view = await a.db.updateDocument('Books', id, { pages: i + 1 })
      const ev = await orTimeout(seen, until)
      waiters.delete(id)
      if (ev === undefined) return undefined
      if (!ev.cids.includes(view.heads[0]!)) throw new Error(`Tandem W3: B reported another change of ${id}`)
      return performance.now() - t0
    }
    return await timeEdits(edit)
  } finally {
    await a.stop()
    await b.stop()
  }
}

async function w4(): Promise<Record<string, unknown>> {
  const a = await start()
  const b = await start()
  try {
    await a.db.addCollections(BOOKS)
    await b.db.addCollections(BOOKS)
    const ids = await a.db.createDocuments('Books', Array.from({ length: shared }, (_, i) => makeDoc(i)))
    await formGroup(a, b)
    if (!await pollUntil(async () => connected(a, b) && await sameState(a, b), performance.now() + 60_000, 50)) throw new Error('Tandem W4: B did not get the shared documents')
    await b.pause() // the partition: B closes its connections and dials nobody until resume()
    if (!await pollUntil(() => a.connectedDevices().length === 0 && b.connectedDevices().length === 0, performance.now() + 15_000)) throw new Error('Tandem W4: A and B did not disconnect')
    const offline = async (node: TandemNode, side: string): Promise<void> => {
      for (let i = 0; i < edits; i++) {
        if (i % 2 === 0) await node.db.updateDocument('Books', ids[(i >> 1) % ids.length]!, { pages: i, title: `${side} edit ${i}` })
        else await node.db.createDocument('Books', makeDoc(i))
      }
    }
    const e0 = performance.now()
    await Promise.all([offline(a, 'A'), offline(b, 'B')])
    const editSeconds = (performance.now() - e0) / 1000
    const docs = shared + 2 * Math.floor(edits / 2)
    gc()
    const t0 = performance.now()
    b.resume()
    const ok = await pollUntil(() => sameState(a, b), t0 + capMs, 10)
    const seconds = (performance.now() - t0) / 1000
    if (ok && (await total(b)) !== docs) throw new Error(`Tandem W4: ${await total(b)} documents after resync, ${docs} expected`)
    return { finished: ok, reached: ok ? docs : await total(b), docs, editsPerSide: edits, shared, seconds, editSeconds }
  } finally {
    await a.stop()
    await b.stop()
  }
}

/** W5, untimed part: N documents in one collection, then a fresh process (w5open) opens the node. */
async function w5(): Promise<Record<string, unknown>> {
  const dir = await freshDir('tandem-w5')
  const db = await Database.open(dir)
  await db.addCollections(BOOKS)
  const b0 = performance.now()
  for (let i = 0; i < n; i += BATCH) await db.createDocuments('Books', Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => makeDoc(i + j)))
  const buildSeconds = (performance.now() - b0) / 1000
  await db.close()
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--workload', 'w5open', '--n', String(n), '--dir', dir], { encoding: 'utf8', timeout: 600_000 })
  const line = child.stdout?.trim().split('\n').pop() ?? ''
  if (child.status !== 0 || !line.startsWith('{')) throw new Error(`Tandem W5 open: exit ${child.status}: ${child.stderr}`)
  const { system: _s, workload: _w, n: _n, versions: _v, ...open } = JSON.parse(line) as Record<string, unknown>
  return { finished: true, reached: n, buildSeconds, ...open }
}

async function w5open(): Promise<Record<string, unknown>> {
  const rss0 = process.memoryUsage().rss
  const t0 = performance.now()
  const node = await start(dirArg)
  const openMs = performance.now() - t0
  try {
    const t1 = performance.now()
    const page = await node.db.listDocuments('Books', { limit: 50 })
    const firstPageMs = performance.now() - t1
    if (page.docs.length !== Math.min(50, n) || page.total !== n) throw new Error(`Tandem W5: first page ${page.docs.length} docs of ${page.total}, expected ${n}`)
    const topics = node.gossip?.topics().length ?? 0
    // Ten documents opened by the person (hot): each adds at most one topic.
    // (A collection kept whole follows no document's topic: its own brings every edit.)
    const books = (await node.db.getCollection('Books')).id
    for (const d of page.docs.slice(0, 10)) node.gossip?.openDocument(books, d.docID)
    await sleep(100)
    const topicsHot = node.gossip?.topics().length ?? 0
    gc()
    const rssMB = process.memoryUsage().rss / 1e6
    return { openMs, firstPageMs, rssMB, rssBeforeOpenMB: rss0 / 1e6, topics, topicsWith10Hot: topicsHot, collections: 1 }
  } finally {
    await node.stop()
  }
}

/**
 * W6, a group of devices: one run of bench/group.ts (each device in its own process there) — group
 * sizes 2 to 5, `edits` edits per size, a fresh device catching up on N documents from 1 to 4 holders.
 */
async function w6(): Promise<Record<string, unknown>> {
  const script = fileURLToPath(new URL('../group.ts', import.meta.url))
  const child = spawnSync(process.execPath, [script, '--json', '--runs', '1', '--n', String(n), '--edits', String(edits), ...(devicesArg !== undefined ? ['--devices', devicesArg] : [])], { encoding: 'utf8', timeout: 60 * 60_000, maxBuffer: 64 * 1024 * 1024 })
  const line = child.stdout?.trim().split('\n').pop() ?? ''
  if (child.status !== 0 || !line.startsWith('{')) throw new Error(`Tandem W6 (bench/group.ts): exit ${child.status}: ${child.stderr?.trim().split('\n').slice(-4).join(' | ')}`)
  const res = JSON.parse(line) as { medians: { edit: Array<Record<string, number>>; catchup: Array<Record<string, number>> }; goals: Record<string, Record<string, unknown>>; holders: Record<string, number> | null; loadavg: unknown }
  return { finished: true, reached: n, edit: res.medians.edit, catchup: res.medians.catchup, goals: res.goals, holders: res.holders, loadavg: res.loadavg }
}

await main('Tandem', { w1, w2, w3, w4, w5, w5open, w6 })
