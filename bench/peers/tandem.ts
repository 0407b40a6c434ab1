/**
 * Tandem, measured the same way as the peers for bench/compare.ts: W1 local writes and W2 replication
 * A→B of N documents.
 *
 *   node bench/peers/tandem.ts --n N     prints one JSON line: { system, n, w1, w2 }
 *
 *   W1: Database.createDocuments('Books', …) in batches of 1000 (Tandem's bulk call) on a fresh
 *       on-disk LevelDB; from the first call to the last one resolving (each call commits its batch).
 *   W1 single: Database.createDocument awaited one at a time (like OrbitDB's put, which has no batch).
 *   W2: bench/sync.ts's S1 passive path. A holds N documents (made untimed, A then restarted from
 *       disk); B defines Books; from forming the group (B connects over TCP on 127.0.0.1, head
 *       exchange, DAG sync) to B's remote 'change' event for the N-th document. Both nodes in this
 *       one process.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Database } from '../../main/db/database.ts'
import type { ChangeEvent } from '../../main/db/database.ts'
import { TandemNode } from '../../main/node/tandem-node.ts'
import { BOOKS, gc, makeDoc, type Doc } from '../common.ts'

const BATCH = 1000
const LOOPBACK = '/ip4/127.0.0.1/tcp/0'
const n = Number(parseArgs({ options: { n: { type: 'string', default: '1000' } } }).values.n)
const dirs: string[] = []
const freshDir = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'tandem-bench-peer-')); dirs.push(d); return d }
const docs: Doc[] = Array.from({ length: n }, (_, i) => makeDoc(i))
const warm: Doc[] = Array.from({ length: 200 }, (_, i) => makeDoc(i))
const batches: Doc[][] = []
for (let i = 0; i < n; i += BATCH) batches.push(docs.slice(i, i + BATCH))
const warmBatches: Doc[][] = [warm]

async function w1(docs: Doc[], batches: Doc[][]): Promise<{ seconds: number; docsPerSec: number }> {
  const n = docs.length
  const db = await Database.open(await freshDir())
  await db.addCollections(BOOKS)
  gc()
  const t0 = performance.now()
  for (const batch of batches) await db.createDocuments('Books', batch)
  const seconds = (performance.now() - t0) / 1000
  const stored = (await db.getCollection('Books')).count
  await db.close()
  if (stored !== n) throw new Error(`Tandem W1: ${stored} documents stored, ${n} written`)
  return { seconds, docsPerSec: n / seconds }
}

/** Tandem createDocument awaited one at a time: the like-for-like of OrbitDB's put(), which has no batch. */
async function w1Single(): Promise<{ seconds: number; docsPerSec: number }> {
  const db = await Database.open(await freshDir())
  await db.addCollections(BOOKS)
  gc()
  const t0 = performance.now()
  for (const d of docs) await db.createDocument('Books', d)
  const seconds = (performance.now() - t0) / 1000
  const stored = (await db.getCollection('Books')).count
  await db.close()
  if (stored !== n) throw new Error(`Tandem W1 single: ${stored} documents stored, ${n} written`)
  return { seconds, docsPerSec: n / seconds }
}

async function w2(): Promise<{ seconds: number; docsPerSec: number }> {
  const aDir = await freshDir()
  const src = await TandemNode.start({ dataDir: aDir, p2p: false })
  await src.db.addCollections(BOOKS)
  for (const batch of batches) await src.db.createDocuments('Books', batch)
  await src.stop()
  const a = await TandemNode.start({ dataDir: aDir, listen: [LOOPBACK], mdns: false })
  const b = await TandemNode.start({ dataDir: await freshDir(), listen: [LOOPBACK], mdns: false })
  try {
    await b.db.addCollections(BOOKS)
    const seen = new Set<string>()
    let resolve!: () => void
    const done = new Promise<void>((r) => { resolve = r })
    b.db.on('change', (ev: ChangeEvent) => { if (ev.origin === 'remote') { seen.add(ev.docID); if (seen.size >= n) resolve() } })
    gc()
    const t0 = performance.now()
    const secret = a.group.secret.bytes
    await b.group.setSecret(secret)
    await a.group.add({ deviceID: b.deviceID, name: 'bench-b', addrs: b.addresses() })
    await b.group.add({ deviceID: a.deviceID, name: 'bench-a', addrs: a.addresses() })
    let timer: NodeJS.Timeout | undefined
    await Promise.race([done, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`Tandem W2: ${seen.size}/${n} documents on B after timeout`)), 30_000 + n * 5) })])
    clearTimeout(timer)
    const seconds = (performance.now() - t0) / 1000
    const onB = (await b.db.listDocuments('Books', { limit: 0 })).total
    if (onB !== n) throw new Error(`Tandem W2: ${onB} documents on B, ${n} on A`)
    return { seconds, docsPerSec: n / seconds }
  } finally {
    await a.stop()
    await b.stop()
  }
}

try {
  await w1(warm, warmBatches) // untimed warm-up: lets V8 compile the write path first
  const r1 = await w1(docs, batches)
  const r1Single = await w1Single()
  const r2 = await w2()
  process.stdout.write(`${JSON.stringify({ system: 'Tandem', n, w1: r1, w1Single: r1Single, w2: r2, versions: {}, sameProcess: true })}\n`)
} finally {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
}
process.exit(0)
