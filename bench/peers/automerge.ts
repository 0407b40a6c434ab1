/**
 * automerge-repo peer for bench/compare.ts, one workload per process, one automerge document per record
 * (a Book), NodeFSStorageAdapter on disk, network over a WebSocket on 127.0.0.1. Both repos of W2–W4
 * run in this one process.
 *
 *   node bench/peers/automerge.ts --workload w1|w2|w3|w4 --n N [--edits E] [--shared S] [--cap SECONDS]
 *
 *   W1 repo.create(doc) for each, then repo.flush() (to disk), after an untimed 200-document warm-up.
 *   W2 A holds N documents and serves a WebSocket; from creating B with a client adapter to repo.find()
 *      of all N URLs resolved and B flushed (B gets the URLs out of band: automerge-repo syncs by ID).
 *   W3 A and B connected, 100 shared documents found on B, 20 untimed edits; then E edits one at a time:
 *      from handle.change() on A to B's handle 'change' event showing that edit.
 *   W4 A and B share S documents; partition = B's networkSubsystem.disconnect() (its WebSocket closes;
 *      the client adapter's retry timer is cleared, so it stays down); each side makes E edits, even ones
 *      changing a shared document, odd ones creating a document; from networkSubsystem.reconnect() to every
 *      document of both sides present on both with the same heads (new documents reach the other side by
 *      the repo announcing them to the peer: shareConfig's default), polled every 50 ms.
 */
import { Repo, type AutomergeUrl, type DocHandle } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { WebSocketClientAdapter, WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { WebSocketServer } from 'ws'
import { gc, makeDoc, type Doc } from '../common.ts'
import { capMs, edits, freshDir, main, n, orTimeout, pollUntil, timeEdits, shared } from './child.ts'
import { version } from './version.ts'

type Server = { wss: WebSocketServer; url: string; repo: Repo }

async function server(): Promise<Server> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((r) => wss.once('listening', () => r()))
  const port = (wss.address() as { port: number }).port
  const repo = new Repo({ storage: new NodeFSStorageAdapter(await freshDir('am')), network: [new WebSocketServerAdapter(wss as unknown as ConstructorParameters<typeof WebSocketServerAdapter>[0])] })
  return { wss, url: `ws://127.0.0.1:${port}`, repo }
}
const client = async (url: string): Promise<Repo> => new Repo({ storage: new NodeFSStorageAdapter(await freshDir('am')), network: [new WebSocketClientAdapter(url)] })
// shutdown() flushes every handle and throws on one still loading (W4: a document the other side announced); the figure is taken by then.
// It can also throw synchronously (the client adapter asserts a socket, gone after W4's partition).
const stop = async (s: Server, b?: Repo): Promise<void> => {
  for (const r of [b, s.repo]) { try { await r?.shutdown() } catch { /* already measured */ } }
  s.wss.close()
}

async function w1(): Promise<Record<string, unknown>> {
  const write = async (docs: Doc[], until: number): Promise<{ seconds: number; reached: number }> => {
    const repo = new Repo({ storage: new NodeFSStorageAdapter(await freshDir('am')), network: [] })
    gc()
    const t0 = performance.now()
    let reached = 0
    for (const d of docs) { repo.create<Doc>(d); reached++; if ((reached & 63) === 0 && performance.now() > until) break }
    await repo.flush()
    const seconds = (performance.now() - t0) / 1000
    await repo.shutdown()
    return { seconds, reached }
  }
  await write(Array.from({ length: 200 }, (_, i) => makeDoc(i)), Infinity) // untimed warm-up
  const r = await write(Array.from({ length: n }, (_, i) => makeDoc(i)), performance.now() + capMs)
  return { finished: r.reached === n, reached: r.reached, seconds: r.seconds, docsPerSec: r.reached / r.seconds }
}

async function w2(): Promise<Record<string, unknown>> {
  const s = await server()
  const docs = Array.from({ length: n }, (_, i) => makeDoc(i))
  // Set-up, untimed but bounded by the same cap: A's N documents.
  const s0 = performance.now()
  const urls: AutomergeUrl[] = []
  for (const d of docs) {
    urls.push(s.repo.create<Doc>(d).url)
    if ((urls.length & 63) === 0 && performance.now() - s0 > capMs) { await stop(s); return { finished: false, reached: 0, note: `set-up: A created ${urls.length} of ${n} documents within the cap` } }
  }
  await s.repo.flush()
  gc()
  const t0 = performance.now()
  const b = await client(s.url)
  try {
    let reached = 0
    const all = Promise.all(urls.map(async (u) => { const h = await b.find<Doc>(u); reached++; return h }))
    all.catch(() => {}) // reported through `reached` when it does not finish
    const handles = await orTimeout(all, t0 + capMs)
    if (handles !== undefined) await b.flush()
    const seconds = (performance.now() - t0) / 1000
    if (handles !== undefined) {
      for (let i = 0; i < n; i++) {
        const got = handles[i]!.doc()
        if (got?.title !== docs[i]!.title || got.body !== docs[i]!.body) throw new Error(`automerge W2: document ${i} differs on B`)
      }
    }
    return { finished: handles !== undefined, reached, seconds, docsPerSec: reached / seconds }
  } finally {
    await stop(s, b)
  }
}

async function w3(): Promise<Record<string, unknown>> {
  const s = await server()
  const b = await client(s.url)
  try {
    const aHandles = Array.from({ length: 100 }, (_, i) => s.repo.create<Doc>(makeDoc(i)))
    const bHandles = await Promise.all(aHandles.map((h) => b.find<Doc>(h.url)))
    const waiters = new Map<number, () => void>()
    bHandles.forEach((h, k) => h.on('change', ({ doc }) => { const w = waiters.get(k); if (w !== undefined && doc.pages === pending.get(k)) w() }))
    const pending = new Map<number, number>()
    const edit = async (i: number, until: number): Promise<number | undefined> => {
      const k = i % aHandles.length
      const seen = new Promise<void>((r) => waiters.set(k, r))
      pending.set(k, 100_000 + i)
      const t0 = performance.now()
      aHandles[k]!.change((d) => { d.pages = 100_000 + i })
      const ok = await orTimeout(seen.then(() => true), until)
      waiters.delete(k)
      return ok === undefined ? undefined : performance.now() - t0
    }
    return await timeEdits(edit)
  } finally {
    await stop(s, b)
  }
}

async function w4(): Promise<Record<string, unknown>> {
  const s = await server()
  const b = await client(s.url)
  try {
    const aShared = Array.from({ length: shared }, (_, i) => s.repo.create<Doc>(makeDoc(i)))
    // Set-up: B finds the shared documents; at 1000 a find may report "unavailable" (seen in our runs), so retry.
    const findRetrying = async (url: AutomergeUrl): Promise<DocHandle<Doc>> => {
      for (let i = 0; ; i++) {
        try { return await b.find<Doc>(url) } catch (err) { if (i >= 10) throw err; await new Promise((r) => setTimeout(r, 500)) }
      }
    }
    const bShared = await Promise.all(aShared.map((h) => findRetrying(h.url)))
    await s.repo.flush()
    await b.flush()
    b.networkSubsystem.disconnect() // the partition
    await new Promise((r) => setTimeout(r, 200))
    const e0 = performance.now()
    let made = 0
    const offline = (repo: Repo, handles: DocHandle<Doc>[], side: string): DocHandle<Doc>[] => {
      const created: DocHandle<Doc>[] = []
      for (let i = 0; i < edits; i++) {
        if (i % 2 === 0) handles[(i >> 1) % handles.length]!.change((d) => { d.pages = i; d.title = `${side} edit ${i}` })
        else created.push(repo.create<Doc>(makeDoc(i)))
        made++
        if ((made & 63) === 0 && performance.now() - e0 > capMs) break
      }
      return created
    }
    const aNew = offline(s.repo, aShared, 'A')
    const bNew = offline(b, bShared, 'B')
    if (made < 2 * edits) return { finished: false, reached: 0, note: `set-up: ${made} of ${2 * edits} offline edits made within the cap` }
    await Promise.all([s.repo.flush(), b.flush()])
    const editSeconds = (performance.now() - e0) / 1000
    const ids = [...aShared, ...aNew, ...bNew].map((h) => h.documentId)
    const docs = ids.length
    let reached = 0
    const same = (): boolean => {
      reached = 0
      for (const id of ids) {
        const ha = s.repo.handles[id]
        const hb = b.handles[id]
        if (ha === undefined || hb === undefined || !ha.isReady() || !hb.isReady()) continue
        const x = ha.heads()
        const y = hb.heads()
        if (x.length === y.length && x.every((h, j) => h === y[j])) reached++
      }
      return reached === docs
    }
    gc()
    const t0 = performance.now()
    b.networkSubsystem.reconnect()
    const ok = await pollUntil(same, t0 + capMs, 50)
    const seconds = (performance.now() - t0) / 1000
    return { finished: ok, reached, docs, editsPerSide: edits, shared, seconds, editSeconds }
  } finally {
    await stop(s, b)
  }
}

await main('automerge-repo', { w1, w2, w3, w4 }, { '@automerge/automerge-repo': version('@automerge/automerge-repo'), '@automerge/automerge': version('@automerge/automerge') })
