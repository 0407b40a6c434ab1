/**
 * automerge-repo peer for bench/compare.ts: W1 local writes and W2 replication A→B of N documents.
 *
 *   node bench/peers/automerge.ts --n N     prints one JSON line: { system, n, w1, w2, versions }
 *
 * One automerge document per record (the ~200-byte Books of bench/common.ts), NodeFSStorageAdapter
 * on a fresh temp dir per repo, WebSocket network on 127.0.0.1 only. Both repos of W2 run in this one
 * process (like Tandem's S1 in bench/sync.ts).
 *   W1: from the first repo.create() to repo.flush() resolving (every document written to disk).
 *   W2: A holds N documents (made and flushed untimed). From creating B with a client adapter to A's
 *       server to B having all N (repo.find() of every URL resolved, B flushed to disk). B learns the
 *       URLs out of band: automerge-repo syncs documents by ID, it has no collection to subscribe to.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Repo, type AutomergeUrl } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { WebSocketServerAdapter, WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import { WebSocketServer } from 'ws'
import { gc, makeDoc, type Doc } from '../common.ts'
import { version } from './version.ts'

const n = Number(parseArgs({ options: { n: { type: 'string', default: '1000' } } }).values.n)
const dirs: string[] = []
const freshDir = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'tandem-bench-am-')); dirs.push(d); return d }
const docs: Doc[] = Array.from({ length: n }, (_, i) => makeDoc(i))
const warm: Doc[] = Array.from({ length: 200 }, (_, i) => makeDoc(i))

async function w1(docs: Doc[]): Promise<{ seconds: number; docsPerSec: number }> {
  const n = docs.length
  const repo = new Repo({ storage: new NodeFSStorageAdapter(await freshDir()), network: [] })
  gc()
  const t0 = performance.now()
  for (const d of docs) repo.create<Doc>(d)
  await repo.flush()
  const seconds = (performance.now() - t0) / 1000
  await repo.shutdown()
  return { seconds, docsPerSec: n / seconds }
}

async function w2(): Promise<{ seconds: number; docsPerSec: number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((r) => wss.once('listening', () => r()))
  const port = (wss.address() as { port: number }).port
  const a = new Repo({ storage: new NodeFSStorageAdapter(await freshDir()), network: [new WebSocketServerAdapter(wss as unknown as ConstructorParameters<typeof WebSocketServerAdapter>[0])] })
  const urls: AutomergeUrl[] = docs.map((d) => a.create<Doc>(d).url)
  await a.flush()
  const bDir = await freshDir()
  gc()
  const t0 = performance.now()
  const b = new Repo({ storage: new NodeFSStorageAdapter(bDir), network: [new WebSocketClientAdapter(`ws://127.0.0.1:${port}`)] })
  const handles = await Promise.all(urls.map((u) => b.find<Doc>(u)))
  await b.flush()
  const seconds = (performance.now() - t0) / 1000
  // Untimed check: every document arrived whole.
  for (let i = 0; i < n; i++) {
    const got = handles[i]!.doc()
    if (got?.title !== docs[i]!.title || got.body !== docs[i]!.body) throw new Error(`automerge W2: document ${i} differs on B`)
  }
  await b.shutdown()
  await a.shutdown()
  wss.close()
  return { seconds, docsPerSec: n / seconds }
}

try {
  await w1(warm) // untimed warm-up: lets V8 compile the write path first
  const r1 = await w1(docs)
  const r2 = await w2()
  process.stdout.write(`${JSON.stringify({ system: 'automerge-repo', n, w1: r1, w2: r2, versions: { '@automerge/automerge-repo': version('@automerge/automerge-repo'), '@automerge/automerge': version('@automerge/automerge') }, sameProcess: true })}\n`)
} finally {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
}
process.exit(0)
