/**
 * Sync between two Tandem nodes on loopback, against a raw libp2p stream in the same run.
 *
 *   node bench/sync.ts [--quick] [--runs R] [--n N,N] [--only raw,s1,s2,s3] [--profile DIR]      (npm run bench runs it after bench/run.ts)
 *
 * Workloads (each run R times, on fresh nodes and data directories; medians reported):
 *   S1  bulk replication A→B: N documents on A (made untimed), then B joins the group; timed until
 *       all N are on B. Two paths: passive (head exchange when B connects) and active (a replicator
 *       set on A once connected). N = 10k and 100k (quick: 2k).
 *   S2  one-edit latency: A and B connected, E edits on A one at a time, each timed until B emits
 *       the 'change' event (origin remote) for it. E = 1000 (quick: 200). p50 / p99.
 *   S3  offline resync: A and B share 1k documents, B pauses, each side makes K edits (half on the
 *       shared documents, half new ones), B resumes; timed until both hold the same state (same
 *       count, same collection digest). K = 10k (quick: 1k).
 *   raw one libp2p stream (tcp + noise + yamux) between two bare libp2p 3 nodes, 256 MiB (quick:
 *       64 MiB) in 64 KiB chunks: the limit S1 is compared to.
 *   copy each S1 source's whole LevelDB copied into an empty one over such a stream, pairs written
 *       by raw batch() (bench/copy-limit.ts): no checks, no merge, the most S1 could reach here;
 *       a store of its blocks alone copied the same way; and the whole store again with every
 *       block checked before it is written (verified): the most any replication that checks what
 *       it receives could reach.
 * Every node listens on 127.0.0.1 only, without mDNS; both ends run in this one process (one
 * event loop), as do both ends of the raw stream. See bench/README.md.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { cpus, platform, arch, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Session } from 'node:inspector/promises'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { TandemNode } from '../main/node/tandem-node.ts'
import { WRITE_BUFFER_BYTES } from '../main/db/store.ts'
import type { ChangeEvent } from '../main/db/database.ts'
import { BOOKS, fmt, gc, makeDoc, mb, median, table, within } from './common.ts'
import { authorOf, blocksOnly, copyRun, type CopySample } from './copy-limit.ts'
import { available as threadCpuAvailable, cpuMedians, cpuSince, snapshot, type Snapshot, type ThreadCpu } from './thread-cpu.ts'

const LOOPBACK = '/ip4/127.0.0.1/tcp/0'
const BATCH = 1000
const S2_DOCS = 100
const S2_WARMUP = 20
const S2_EDIT_TIMEOUT_MS = 5_000
const MESH_SETTLE_MS = 1_000
const S3_SHARED = 1000
const RAW_CHUNK = 64 * 1024
const RAW_PROTOCOL = '/tandem-bench/raw/1.0.0'
const MiB = 1024 * 1024
// Issue 20's goals: S1 at least 0.85 of the whole-store copy limit measured in the same run (issue
// 7's 0.30 of the raw stream is shown as information: no replication that leaves B with a store
// reaches it here); S2 (W3's one edit) p50 at most 2 ms and p99 at most 7 ms.
const GOAL_S1_OF_COPY = 0.85
const GOAL_S2_P50_MS = 2
const GOAL_S2_P99_MS = 7
const GOAL_S3_SECONDS = 3
const GOAL_S3_EDITS = 10_000
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))

// ---- options ----

const WORKLOADS = ['raw', 'copy', 's1', 's2', 's3'] as const
type Workload = typeof WORKLOADS[number]

const USAGE = `usage: node bench/sync.ts [--quick] [--runs R] [--n LIST] [--only LIST]
  --quick      S1 N = 2000, S2 200 edits, S3 1000 edits a side, raw 64 MiB; R = 1 (a smoke run)
  --runs R     times each workload is measured (default 3); medians are reported
  --n LIST     S1 sizes, comma-separated (default 10000,100000; quick 2000)
  --only LIST  run only these workloads, comma-separated, of ${WORKLOADS.join(',')}; the S1 ratio needs raw
  --profile D  write a CPU profile of each timed part (and of nothing else) to directory D`

function options(): { runs: number; quick: boolean; only: Set<Workload>; sizes: number[]; profile: string | undefined } {
  let values
  try {
    values = parseArgs({
      options: { quick: { type: 'boolean', default: false }, runs: { type: 'string' }, n: { type: 'string' }, only: { type: 'string' }, profile: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`)
    process.exit(2)
  }
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const quick = values.quick === true
  let runs = quick ? 1 : 3
  if (values.runs !== undefined) {
    runs = Number(values.runs)
    if (!Number.isSafeInteger(runs) || runs < 1) {
      console.error(`--runs takes a whole number of at least 1, not "${values.runs}"\n${USAGE}`)
      process.exit(2)
    }
  }
  const only = new Set<Workload>()
  for (const w of (values.only ?? WORKLOADS.join(',')).split(',').map((x) => x.trim().toLowerCase()).filter((x) => x !== '')) {
    if (!(WORKLOADS as readonly string[]).includes(w)) {
      console.error(`--only takes workloads among ${WORKLOADS.join(', ')}, not "${w}"\n${USAGE}`)
      process.exit(2)
    }
    only.add(w as Workload)
  }
  if (only.size === 0) {
    console.error(`--only names no workload\n${USAGE}`)
    process.exit(2)
  }
  let sizes = quick ? [2_000] : [10_000, 100_000]
  if (values.n !== undefined) {
    sizes = values.n.split(',').map((x) => Number(x.trim()))
    if (sizes.some((v) => !Number.isSafeInteger(v) || v < 1)) {
      console.error(`--n takes whole numbers of at least 1, comma-separated, not "${values.n}"\n${USAGE}`)
      process.exit(2)
    }
  }
  return { quick, runs, only, sizes, profile: values.profile }
}

const { runs, quick, only, sizes: S1_SIZES, profile: PROFILE_DIR } = options()
const S2_EDITS = quick ? 200 : 1000
const S3_EDITS = quick ? 1_000 : 10_000
const RAW_BYTES = (quick ? 64 : 256) * MiB
// The whole run is bounded: past this, it stops its nodes, removes its directories and exits 1.
const DEADLINE_MS = (quick ? 5 : 60) * 60_000

const log = (s: string): void => { process.stderr.write(`${s}\n`) }
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

// ---- nodes, directories and clean-up ----

const dirs = new Set<string>()
const nodes = new Set<TandemNode>()
const hosts = new Set<Libp2p>()

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-bench-sync-'))
  dirs.add(dir)
  return dir
}
async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  dirs.delete(dir)
}

async function startNode(dataDir?: string): Promise<TandemNode> {
  const node = await TandemNode.start({ dataDir: dataDir ?? await freshDir(), listen: [LOOPBACK], mdns: false })
  nodes.add(node)
  return node
}
async function stopNode(node: TandemNode): Promise<void> {
  nodes.delete(node)
  await node.stop()
}

/** Stops every node still running and removes every directory; used at the end and on failure. */
async function cleanUp(): Promise<void> {
  await Promise.allSettled([...nodes].map((n) => n.stop()))
  nodes.clear()
  await Promise.allSettled([...hosts].map((h) => h.stop()))
  hosts.clear()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  dirs.clear()
}

async function fail(message: string, code: number): Promise<never> {
  console.error(`sync benchmark aborted: ${message}`)
  const bounded = setTimeout(() => process.exit(code), 15_000) // clean-up itself must not hang
  bounded.unref()
  await cleanUp().catch(() => {})
  process.exit(code)
}

process.on('SIGINT', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  process.exit(130)
})
setTimeout(() => { void fail(`the whole run took longer than ${DEADLINE_MS / 60_000} minutes`, 1) }, DEADLINE_MS).unref()

// ---- CPU profiles of the timed parts alone (--profile DIR) ----

let session: Session | null = null
let profiled = 0
let profiling = false
/** Off during the warm-up. */
let profileOn = false

async function profileStart(): Promise<void> {
  if (PROFILE_DIR === undefined || !profileOn) return
  if (session === null) {
    session = new Session()
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 200 })
  }
  await session.post('Profiler.start')
  profiling = true
}

async function profileStop(name: string): Promise<void> {
  if (session === null || !profiling) return
  profiling = false
  const { profile } = await session.post('Profiler.stop')
  mkdirSync(PROFILE_DIR!, { recursive: true })
  const file = join(PROFILE_DIR!, `${String(++profiled).padStart(2, '0')}-${name}.cpuprofile`)
  writeFileSync(file, JSON.stringify(profile))
  log(`  profile: ${file}`)
}

// ---- waiting, always bounded ----

/** Polls `check` every `everyMs` until it returns true; throws after `ms`. */
async function until(check: () => Promise<boolean> | boolean, what: string, ms: number, everyMs = 20): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    if (await check()) return
    if (Date.now() > end) throw new Error(`timed out after ${fmt(ms / 1000, 1)} s waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** Makes the nodes one group: the same secret, each knows the others and their addresses (as in tests/helpers/nodes.ts). */
async function formGroup(group: TandemNode[]): Promise<void> {
  const secret = group[0]!.group.secret.bytes
  for (const n of group.slice(1)) await n.group.setSecret(secret)
  for (const a of group) {
    for (const b of group) {
      if (a !== b) await a.group.add({ deviceID: b.deviceID, name: `bench-${b.deviceID.slice(-4)}`, addrs: b.addresses() })
    }
  }
}

const connected = (a: TandemNode, b: TandemNode): boolean =>
  a.connectedDevices().includes(b.deviceID) && b.connectedDevices().includes(a.deviceID)

async function total(node: TandemNode): Promise<number> {
  return (await node.db.listDocuments('Books', { limit: 0 })).total
}

async function sameState(a: TandemNode, b: TandemNode): Promise<boolean> {
  const [ta, tb] = [await total(a), await total(b)]
  if (ta !== tb) return false
  const [da, db] = [await a.db.collectionDigests(), await b.db.collectionDigests()]
  if (da.size !== db.size) return false
  for (const [id, d] of da) if (!Buffer.from(d).equals(Buffer.from(db.get(id) ?? new Uint8Array()))) return false
  return true
}

/** Resolves when `node` has emitted remote 'change' events for `n` distinct documents. */
function remoteDocs(node: TandemNode, n: number): { done: Promise<void>; count: () => number; off: () => void } {
  const seen = new Set<string>()
  let resolve!: () => void
  const done = new Promise<void>((r) => { resolve = r })
  const on = (ev: ChangeEvent): void => {
    if (ev.origin !== 'remote') return
    seen.add(ev.docID)
    if (seen.size >= n) resolve()
  }
  node.db.on('change', on)
  return { done, count: () => seen.size, off: () => node.db.off('change', on) }
}

// ---- S1: bulk replication A→B ----

interface Source { dir: string; n: number; blocks: number; blockBytes: number; docBytes: number }

/** A's data directory with N documents, made once per N (untimed) and copied for every run. */
async function buildSource(n: number): Promise<Source> {
  const dir = await freshDir()
  const node = await TandemNode.start({ dataDir: dir, p2p: false })
  nodes.add(node)
  await node.db.addCollections(BOOKS)
  let docBytes = 0
  for (let i = 0; i < n; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => makeDoc(i + j))
    for (const d of batch) docBytes += Buffer.byteLength(JSON.stringify(d))
    await node.db.createDocuments('Books', batch)
  }
  let blocks = 0
  let blockBytes = 0
  for await (const { bytes } of node.db.allBlocks()) {
    blocks++
    blockBytes += bytes.length
  }
  if ((await total(node)) !== n) throw new Error(`S1 source: ${await total(node)} documents stored, ${n} written`)
  await stopNode(node)
  return { dir, n, blocks, blockBytes, docBytes }
}

type S1Path = 'passive' | 'active'
interface S1Sample { path: S1Path; n: number; seconds: number; connectMs: number; docsPerSec: number; mbPerSec: number; bytesPerSec: number; cpu: ThreadCpu }

async function s1Run(src: Source, path: S1Path): Promise<S1Sample> {
  const aDir = await freshDir()
  await cp(src.dir, aDir, { recursive: true })
  const a = await startNode(aDir)
  const b = await startNode()
  const limitMs = 30_000 + src.n * 5 // aborts below 200 docs/s
  try {
    // Passive: B defines Books itself and pulls on connect. Active: B has nothing, so connecting
    // moves nothing; the replicator brings the schema and every block.
    if (path === 'passive') await b.db.addCollections(BOOKS)
    const arrived = remoteDocs(b, src.n)
    let connectMs = 0
    let t0: number
    let cpu0: Snapshot
    gc()
    if (path === 'passive') {
      await profileStart()
      cpu0 = snapshot()
      t0 = performance.now()
      b.once('peer:connect', () => { connectMs = performance.now() - t0 })
      await formGroup([a, b])
    } else {
      await formGroup([a, b])
      await until(() => connected(a, b), 'A and B to connect', 15_000)
      await until(() => !a.syncing && !b.syncing, 'the head exchange on connect to end', 15_000)
      if (arrived.count() !== 0) throw new Error('S1 active: documents reached B before the replicator was set')
      gc()
      await profileStart()
      cpu0 = snapshot()
      t0 = performance.now()
      await a.replicators!.set({ target: b.deviceID, collections: ['Books'] })
    }
    await within(arrived.done, limitMs, `S1 ${path}: ${fmt(src.n)} documents on B (${fmt(arrived.count())} arrived)`)
    const seconds = (performance.now() - t0) / 1000
    const cpu = cpuSince(cpu0)
    await profileStop(`s1-${path}-${src.n}`)
    arrived.off()
    // Untimed checks: every document is there, and both sides hold the same heads.
    const onB = await total(b)
    if (onB !== src.n) throw new Error(`S1 ${path}: ${onB} documents on B, ${src.n} on A`)
    await until(() => sameState(a, b), `S1 ${path}: the same digest on A and B`, 15_000, 50)
    if (path === 'active') await until(() => a.replicators!.state(b.deviceID)?.initialSync.state === 'done', 'S1 active: initial sync to report done', 15_000)
    const bytesPerSec = src.blockBytes / seconds
    return { path, n: src.n, seconds, connectMs, docsPerSec: src.n / seconds, mbPerSec: bytesPerSec / 1e6, bytesPerSec, cpu }
  } finally {
    await stopNode(a)
    await stopNode(b)
    await removeDir(aDir)
  }
}

// ---- S2: one-edit propagation latency ----

interface S2Sample { edits: number; p50: number; p99: number; max: number; localP50: number; latenciesMs: number[] }

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

async function s2Run(edits: number): Promise<S2Sample> {
  const a = await startNode()
  const b = await startNode()
  try {
    await a.db.addCollections(BOOKS)
    await b.db.addCollections(BOOKS)
    const ids = await a.db.createDocuments('Books', Array.from({ length: S2_DOCS }, (_, i) => makeDoc(i)))
    await formGroup([a, b])
    await until(() => connected(a, b), 'S2: A and B to connect', 15_000)
    await until(async () => (await total(b)) === S2_DOCS, 'S2: the documents on B', 15_000)
    await sleep(MESH_SETTLE_MS) // let the gossip mesh form (~25 ms measured on loopback; 1 s to be safe)
    const waiters = new Map<string, (ev: ChangeEvent) => void>()
    const on = (ev: ChangeEvent): void => {
      if (ev.origin === 'remote') waiters.get(ev.docID)?.(ev)
    }
    b.db.on('change', on)
    const edit = async (i: number): Promise<{ ms: number; localMs: number }> => {
      const id = ids[i % ids.length]!
      const seen = new Promise<ChangeEvent>((resolve) => waiters.set(id, resolve))
      const t0 = performance.now()
      const view = await a.db.updateDocument('Books', id, { pages: i + 1 })
      const t1 = performance.now()
      const ev = await within(seen, S2_EDIT_TIMEOUT_MS, `S2: edit ${i + 1} of ${edits} to reach B`)
      const t2 = performance.now()
      waiters.delete(id)
      if (!ev.cids.includes(view.heads[0]!)) throw new Error(`S2: B reported another change of ${id} than edit ${i + 1}`)
      return { ms: t2 - t0, localMs: t1 - t0 }
    }
    for (let i = 0; i < S2_WARMUP; i++) await edit(i) // untimed: the first publishes find the mesh
    gc()
    const latencies: number[] = []
    const local: number[] = []
    await profileStart()
    for (let i = 0; i < edits; i++) {
      const r = await edit(S2_WARMUP + i)
      latencies.push(r.ms)
      local.push(r.localMs)
    }
    await profileStop('s2')
    b.db.off('change', on)
    return {
      edits, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies),
      localP50: percentile(local, 50), latenciesMs: latencies.map((x) => Math.round(x * 1000) / 1000),
    }
  } finally {
    await stopNode(a)
    await stopNode(b)
  }
}

// ---- S3: offline resync ----

interface S3Sample { editsPerSide: number; seconds: number; reconnectMs: number; docs: number }

/** `k` edits one at a time: even ones update a shared document, odd ones create a new document. */
async function offlineEdits(node: TandemNode, shared: string[], k: number, side: string): Promise<void> {
  for (let i = 0; i < k; i++) {
    if (i % 2 === 0) await node.db.updateDocument('Books', shared[(i >> 1) % shared.length]!, { pages: i, title: `${side} edit ${i}` })
    else await node.db.createDocument('Books', makeDoc(i))
  }
}

async function s3Run(k: number): Promise<S3Sample> {
  const a = await startNode()
  const b = await startNode()
  try {
    await a.db.addCollections(BOOKS)
    await b.db.addCollections(BOOKS)
    const shared = await a.db.createDocuments('Books', Array.from({ length: S3_SHARED }, (_, i) => makeDoc(i)))
    await formGroup([a, b])
    await until(() => connected(a, b), 'S3: A and B to connect', 15_000)
    await until(() => sameState(a, b), 'S3: the shared documents on B', 30_000, 50)
    await b.pause()
    await until(() => a.connectedDevices().length === 0 && b.connectedDevices().length === 0, 'S3: A and B to disconnect', 15_000)
    await Promise.all([offlineEdits(a, shared, k, 'A'), offlineEdits(b, shared, k, 'B')])
    const docs = S3_SHARED + 2 * Math.floor(k / 2)
    if ((await total(a)) !== S3_SHARED + Math.floor(k / 2) || (await sameState(a, b))) throw new Error('S3: the offline edits did not make A and B differ as planned')
    let reconnectMs = 0
    gc()
    await profileStart()
    const t0 = performance.now()
    b.once('peer:connect', () => { reconnectMs = performance.now() - t0 })
    b.resume()
    await until(() => sameState(a, b), `S3: A and B identical after resume (${k} edits a side)`, 120_000, 10)
    const seconds = (performance.now() - t0) / 1000
    await profileStop(`s3-${k}`)
    if ((await total(b)) !== docs) throw new Error(`S3: ${await total(b)} documents after resync, ${docs} expected`)
    return { editsPerSide: k, seconds, reconnectMs, docs }
  } finally {
    await stopNode(a)
    await stopNode(b)
  }
}

// ---- raw: one libp2p stream between two bare libp2p 3 nodes ----

interface RawSample { bytes: number; seconds: number; bytesPerSec: number; mibPerSec: number }

async function bareHost(): Promise<Libp2p> {
  const host = await createLibp2p({
    addresses: { listen: [LOOPBACK] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  })
  hosts.add(host)
  return host
}

async function stopHosts(...some: Libp2p[]): Promise<void> {
  for (const h of some) {
    hosts.delete(h)
    await h.stop()
  }
}

async function rawRun(bytes: number): Promise<RawSample> {
  const receiver = await bareHost()
  const sender = await bareHost()
  try {
    let got = 0
    let resolve!: () => void
    let reject!: (err: Error) => void
    const all = new Promise<void>((res, rej) => { resolve = res; reject = rej })
    await receiver.handle(RAW_PROTOCOL, (stream) => {
      stream.addEventListener('message', (evt) => {
        got += evt.data.byteLength
        if (got >= bytes) resolve()
      })
      stream.addEventListener('close', (evt) => { if (evt.error !== undefined) reject(evt.error) })
    })
    const stream = await sender.dialProtocol(receiver.getMultiaddrs()[0]!, RAW_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
    const chunk = randomBytes(RAW_CHUNK)
    const limitMs = 60_000
    gc()
    await profileStart()
    const t0 = performance.now()
    for (let sent = 0; sent < bytes; sent += RAW_CHUNK) {
      if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(limitMs) })
    }
    await within(all, limitMs, `raw stream: ${fmt(bytes / MiB)} MiB at the receiver (${fmt(got / MiB)} MiB arrived)`)
    const seconds = (performance.now() - t0) / 1000
    await profileStop('raw')
    await stream.close({ signal: AbortSignal.timeout(5_000) }).catch(() => stream.abort(new Error('close failed')))
    if (got !== bytes) throw new Error(`raw stream: ${got} bytes received, ${bytes} sent`)
    return { bytes, seconds, bytesPerSec: bytes / seconds, mibPerSec: bytes / MiB / seconds }
  } finally {
    await stopHosts(sender, receiver)
  }
}

// ---- copy: the S1 source's store moved by the rawest means ----

type CopyKind = 'store' | 'blocks' | 'verified'
const COPY_KINDS: readonly CopyKind[] = ['store', 'blocks', 'verified']
const COPY_WHAT: Record<CopyKind, string> = { store: 'store', blocks: 'blocks alone', verified: 'store, every block checked' }

/** The blocks-only store of each source, made untimed when first needed. */
const blockStores = new Map<string, string>()
async function blockStore(src: Source): Promise<string> {
  let dir = blockStores.get(src.dir)
  if (dir === undefined) {
    dir = await freshDir()
    await blocksOnly(join(src.dir, 'db'), join(dir, 'db'))
    blockStores.set(src.dir, dir)
  }
  return dir
}

async function copyLimit(src: Source, kind: CopyKind): Promise<CopySample & { cpu: ThreadCpu }> {
  const from = kind === 'blocks' ? await blockStore(src) : src.dir
  const verify = kind === 'verified' ? { author: await authorOf(join(src.dir, 'db')) } : undefined
  const receiver = await bareHost()
  const sender = await bareHost()
  const to = await freshDir()
  try {
    gc()
    await profileStart()
    let cpu0: Snapshot = new Map()
    const sample = await copyRun(join(from, 'db'), join(to, 'db'), sender, receiver, 30_000 + src.n * 5, verify, () => { cpu0 = snapshot() })
    const cpu = cpuSince(cpu0)
    await profileStop(`copy-${kind}-${src.n}`)
    return { ...sample, cpu }
  } finally {
    await stopHosts(sender, receiver)
    await removeDir(to)
  }
}

// ---- main ----

const cpu = cpus()
const samples = {
  raw: [] as RawSample[],
  copy: [] as Array<CopySample & { n: number; kind: CopyKind; cpu: ThreadCpu }>,
  s1: [] as S1Sample[],
  s2: [] as S2Sample[],
  s3: [] as S3Sample[],
}
const sources: Array<Omit<Source, 'dir'>> = []

try {
  const needSources = only.has('s1') || only.has('copy')
  if (needSources) log(`sync: building the S1 source${S1_SIZES.length > 1 ? 's' : ''} (${S1_SIZES.map((n) => fmt(n)).join(', ')} documents on A, untimed)…`)
  const built: Source[] = []
  for (const n of needSources ? S1_SIZES : []) {
    const src = await buildSource(n)
    built.push(src)
    const { dir: _dir, ...info } = src
    sources.push(info)
  }

  // Warm-up, untimed: V8 compiles the sync paths (and libp2p's) before the first measured run.
  log('sync: warming up (untimed)…')
  const warm = await buildSource(1000)
  await s1Run(warm, 'passive')
  await s1Run(warm, 'active')
  if (only.has('raw')) await rawRun(16 * MiB)
  if (only.has('copy')) for (let i = 0; i < 3; i++) for (const kind of COPY_KINDS) await copyLimit(warm, kind)
  await removeDir(warm.dir)
  profileOn = true

  for (let r = 0; r < runs; r++) {
    if (only.has('raw')) {
      log(`sync run ${r + 1}/${runs}: raw libp2p stream (${fmt(RAW_BYTES / MiB)} MiB)…`)
      samples.raw.push(await rawRun(RAW_BYTES))
    }
    for (const src of only.has('copy') ? built : []) {
      for (const kind of COPY_KINDS) {
        log(`sync run ${r + 1}/${runs}: copy limit (${fmt(src.n)} docs' ${COPY_WHAT[kind]})…`)
        const c = await copyLimit(src, kind)
        log(`  ${fmt(src.n / c.seconds)} docs/s, ${fmt(c.seconds, 2)} s`)
        samples.copy.push({ ...c, n: src.n, kind })
      }
    }
    for (const src of only.has('s1') ? built : []) {
      // Alternate which path goes first, as bench/run.ts alternates its sides.
      const order: S1Path[] = r % 2 === 0 ? ['passive', 'active'] : ['active', 'passive']
      for (const path of order) {
        log(`sync run ${r + 1}/${runs}: S1 ${path} (${fmt(src.n)} docs)…`)
        const s = await s1Run(src, path)
        log(`  ${fmt(s.docsPerSec)} docs/s, ${fmt(s.seconds, 2)} s`)
        samples.s1.push(s)
      }
    }
    if (only.has('s2')) {
      log(`sync run ${r + 1}/${runs}: S2 (${fmt(S2_EDITS)} edits)…`)
      const s2 = await s2Run(S2_EDITS)
      log(`  p50 ${fmt(s2.p50, 2)} ms, p99 ${fmt(s2.p99, 2)} ms`)
      samples.s2.push(s2)
    }
    if (only.has('s3')) {
      log(`sync run ${r + 1}/${runs}: S3 (${fmt(S3_EDITS)} edits a side, untimed, then resync)…`)
      const s3 = await s3Run(S3_EDITS)
      log(`  ${fmt(s3.seconds, 2)} s`)
      samples.s3.push(s3)
    }
  }
} catch (err) {
  await fail((err as Error).message, 1)
}
await cleanUp()

// ---- results ----

const rawMedian = samples.raw.length === 0 ? null : {
  seconds: median(samples.raw.map((s) => s.seconds)),
  bytesPerSec: median(samples.raw.map((s) => s.bytesPerSec)),
  mibPerSec: median(samples.raw.map((s) => s.mibPerSec)),
}
const copyMedians = sources.flatMap((src) => COPY_KINDS.flatMap((kind) => {
  const xs = samples.copy.filter((s) => s.n === src.n && s.kind === kind)
  if (xs.length === 0) return []
  const seconds = median(xs.map((s) => s.seconds))
  // As S1's ratio: the source's block bytes per second, so the two ratios compare directly.
  const blockBytesPerSec = src.blockBytes / seconds
  return [{
    n: src.n, kind, seconds, docsPerSec: src.n / seconds, pairs: xs[0]!.pairs, bytes: xs[0]!.bytes, storeMbPerSec: xs[0]!.bytes / seconds / 1e6,
    blockBytesPerSec, cpu: cpuMedians(xs, median), ratio: rawMedian === null ? null : blockBytesPerSec / rawMedian.bytesPerSec,
  }]
}))
const s1Medians = sources.flatMap((src) => (['passive', 'active'] as const).flatMap((path) => {
  const xs = samples.s1.filter((s) => s.n === src.n && s.path === path)
  if (xs.length === 0) return []
  const copy = copyMedians.find((c) => c.n === src.n && c.kind === 'store')
  const verified = copyMedians.find((c) => c.n === src.n && c.kind === 'verified')
  const bytesPerSec = median(xs.map((s) => s.bytesPerSec))
  const ratio = rawMedian === null ? null : bytesPerSec / rawMedian.bytesPerSec
  const ofCopy = copy === undefined ? null : bytesPerSec / copy.blockBytesPerSec
  return [{
    path, n: src.n, seconds: median(xs.map((s) => s.seconds)), docsPerSec: median(xs.map((s) => s.docsPerSec)),
    mbPerSec: median(xs.map((s) => s.mbPerSec)), bytesPerSec, connectMs: median(xs.map((s) => s.connectMs)), cpu: cpuMedians(xs, median),
    ratio,
    ofCopy,
    pass: ofCopy === null ? null : ofCopy >= GOAL_S1_OF_COPY,
    ofVerifiedCopy: verified === undefined ? null : bytesPerSec / verified.blockBytesPerSec,
  }]
}))
const s2Median = samples.s2.length === 0 ? null : {
  p50: median(samples.s2.map((s) => s.p50)), p99: median(samples.s2.map((s) => s.p99)),
  max: median(samples.s2.map((s) => s.max)), localP50: median(samples.s2.map((s) => s.localP50)),
}
const s2Pass = s2Median === null ? null : s2Median.p50 <= GOAL_S2_P50_MS && s2Median.p99 <= GOAL_S2_P99_MS
const s3Median = samples.s3.length === 0 ? null : { seconds: median(samples.s3.map((s) => s.seconds)), reconnectMs: median(samples.s3.map((s) => s.reconnectMs)) }
// The S3 goal is set for 10k edits a side; at other sizes the figure is information only.
const s3Judged = S3_EDITS === GOAL_S3_EDITS
const s3Pass = s3Median === null || !s3Judged ? null : s3Median.seconds < GOAL_S3_SECONDS
const verdict = (pass: boolean | null): string => (pass === null ? 'info' : pass ? 'pass' : 'MISS')

const rawCell = rawMedian === null ? '(not run)' : `${fmt(rawMedian.mibPerSec)} MiB/s (${mb(rawMedian.bytesPerSec / 1e6)} MB/s)`
const rows = [['workload', 'Tandem', 'raw libp2p stream', 'ratio', 'goal', 'result']]
for (const m of s1Medians) {
  const src = sources.find((s) => s.n === m.n)!
  rows.push([
    `S1 bulk A→B, ${m.path === 'passive' ? 'passive (head exchange on connect)' : 'active (replicator set)'}, ${fmt(m.n)} docs`,
    `${fmt(m.docsPerSec)} docs/s (${mb(m.mbPerSec)} MB/s of ${mb(src.blockBytes / 1e6)} MB blocks), ${fmt(m.seconds, 2)} s` +
      (m.ofCopy === null ? '' : `, ${m.ofCopy.toFixed(2)} of copy`) + (m.ofVerifiedCopy === null ? '' : `, ${m.ofVerifiedCopy.toFixed(2)} of verified copy`),
    rawCell,
    m.ratio === null ? '-' : m.ratio.toFixed(3),
    m.ofCopy === null ? `>= ${GOAL_S1_OF_COPY} of copy (run the copy limit)` : `>= ${GOAL_S1_OF_COPY} of copy`,
    verdict(m.pass),
  ])
}
for (const c of copyMedians) {
  rows.push([
    c.kind === 'store'
      ? `copy limit: the ${fmt(c.n)}-doc store, ${fmt(c.pairs)} pairs, raw read/stream/batch()`
      : c.kind === 'blocks'
        ? `copy limit: its ${fmt(c.pairs)} blocks alone, the same way`
        : `verified copy: the same store, each block checked before it is written`,
    `${fmt(c.docsPerSec)} docs/s (${mb(c.storeMbPerSec)} MB/s of ${mb(c.bytes / 1e6)} MB stored), ${fmt(c.seconds, 2)} s`,
    rawCell,
    c.ratio === null ? '-' : c.ratio.toFixed(3),
    '-',
    'limit',
  ])
}
if (s2Median !== null) {
  rows.push([
    `S2 one edit A→B, ${fmt(S2_EDITS)} edits one at a time`,
    `p50 ${fmt(s2Median.p50, 2)} ms, p99 ${fmt(s2Median.p99, 2)} ms (max ${fmt(s2Median.max, 1)}; local write p50 ${fmt(s2Median.localP50, 2)})`,
    '-',
    '-',
    `p50 <= ${GOAL_S2_P50_MS} ms, p99 <= ${GOAL_S2_P99_MS} ms`,
    verdict(s2Pass),
  ])
}
if (s3Median !== null) {
  rows.push([
    `S3 offline resync, ${fmt(S3_SHARED)} shared docs, ${fmt(S3_EDITS)} edits a side`,
    `${fmt(s3Median.seconds, 2)} s to identical state (reconnect ${fmt(s3Median.reconnectMs, 0)} ms)`,
    '-',
    '-',
    `< ${GOAL_S3_SECONDS} s at ${fmt(GOAL_S3_EDITS)}`,
    verdict(s3Pass),
  ])
}
if (rawMedian !== null) {
  rows.push([
    `raw: one libp2p stream, ${fmt(RAW_BYTES / MiB)} MiB in ${RAW_CHUNK / 1024} KiB chunks`,
    '-',
    `${fmt(rawMedian.mibPerSec)} MiB/s, ${fmt(rawMedian.seconds, 2)} s`,
    '-',
    '-',
    'limit',
  ])
}

const meanBlock = sources.length > 0 ? sources[0]!.blockBytes / sources[0]!.blocks : 0
console.log('')
console.log(`Tandem sync on loopback vs one raw libp2p stream (tcp + noise + yamux): ${runs} run${runs === 1 ? '' : 's'}, medians; ` +
  `both ends in one process; ~200 B documents, ${fmt(meanBlock)} B per block on average`)
console.log(`node ${process.version}, ${platform()} ${arch()}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, dir ${tmpdir()}`)
console.log('')
console.log(table(rows))
console.log('')
console.log('S1 ratio = bytes of blocks moved per second ÷ raw stream bytes per second (1 MB = 10^6 B, 1 MiB = 2^20 B): information; the goal is "of copy".')
if (copyMedians.length > 0) console.log('copy ratio = the S1 ratio a replication as fast as the copy limit would get; "of copy" = Tandem\'s rate ÷ the copy limit\'s.')
if (copyMedians.some((c) => c.kind === 'verified')) {
  console.log('verified copy: B makes each block whole again and checks it as Tandem checks its author\'s attested frames (hash to its CID, canonical dag-cbor, shape) before')
  console.log('  writing it; no merge, no records built. Its rate ÷ the copy limit\'s is the most "of copy" any replication that checks what it receives can reach here.')
}
console.log('S1 time runs from forming the group (passive) or setting the replicator (active) to the last document\'s change event on B.')
if (threadCpuAvailable && (s1Medians.length > 0 || copyMedians.length > 0)) {
  // Where the CPU of each timed part went (both ends: one process), by thread (bench/thread-cpu.ts).
  const cpuRows = [['workload', 'wall s', 'CPU s: main thread', "V8's helpers, workers", 'LevelDB, libuv', 'all', 'cores busy', 'CPU ms per doc']]
  const cpuRow = (what: string, m: { n: number; seconds: number; cpu: ReturnType<typeof cpuMedians> }): string[] =>
    [what, fmt(m.seconds, 2), fmt(m.cpu.main, 2), fmt(m.cpu.helpers, 2), fmt(m.cpu.io, 2), fmt(m.cpu.total, 2), `${fmt(m.cpu.cores, 2)} of ${cpu.length}`, fmt((m.cpu.total / m.n) * 1000, 3)]
  for (const m of s1Medians) cpuRows.push(cpuRow(`S1 ${m.path}, ${fmt(m.n)} docs`, m))
  for (const c of copyMedians) cpuRows.push(cpuRow(`${c.kind === 'verified' ? 'verified copy' : c.kind === 'blocks' ? 'copy limit, blocks alone' : 'copy limit'}, ${fmt(c.n)} docs`, c))
  console.log('')
  console.log(table(cpuRows))
  console.log('CPU by thread (Linux /proc, medians): main = the event loop; V8\'s helpers = parallel GC, compiler, worker threads; LevelDB, libuv = its reads and')
  console.log('  writes on the thread pool and its background compaction. cores busy = all ÷ wall time.')
}

// libp2p's package.json is not in its exports: read it from the root node_modules.
const version = (pkg: string): string | null => {
  try {
    return (JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return null
  }
}
const result = {
  benchmark: 'sync',
  date: new Date().toISOString(),
  node: process.version,
  v8: process.versions.v8,
  versions: { libp2p: version('libp2p'), yamux: version('@chainsafe/libp2p-yamux'), noise: version('@chainsafe/libp2p-noise'), tcp: version('@libp2p/tcp'), gossipsub: version('@libp2p/gossipsub'), classicLevel: version('classic-level') },
  machine: { platform: platform(), release: release(), arch: arch(), cpus: cpu.length, cpuModel: cpu[0]?.model ?? null, totalMemBytes: totalmem(), tmpdir: tmpdir() },
  quick,
  runs,
  workloads: [...only],
  config: {
    s1: { sizes: S1_SIZES, createBatch: BATCH },
    s2: { edits: S2_EDITS, docs: S2_DOCS, warmupEdits: S2_WARMUP, meshSettleMs: MESH_SETTLE_MS },
    s3: { sharedDocs: S3_SHARED, editsPerSide: S3_EDITS, split: 'even edits update a shared document, odd edits create one' },
    raw: { bytes: RAW_BYTES, chunkBytes: RAW_CHUNK },
    copy: { what: 'each S1 source store copied whole (store), a store of its blocks alone (blocks), and the whole store with every block checked before it is written (verified: signature trees first, then each block made whole and run through verifyBlocks as its author\'s attested frames): nextv(1000) reads, 64 KiB frames of length-prefixed pairs on one libp2p stream, batch() of 1024 pairs', writeBufferSize: WRITE_BUFFER_BYTES },
  },
  sources,
  units: {
    seconds: 'wall time of the timed part', mbPerSec: 'block bytes / 1e6 per second', mibPerSec: 'bytes / 2^20 per second',
    latenciesMs: 'milliseconds from calling updateDocument on A to the change event on B',
  },
  samples,
  medians: { raw: rawMedian, copy: copyMedians, s1: s1Medians, s2: s2Median, s3: s3Median },
  goals: {
    s1: { minOfCopy: GOAL_S1_OF_COPY, results: s1Medians.map((m) => ({ path: m.path, n: m.n, ofCopy: m.ofCopy, ratio: m.ratio, pass: m.pass })) },
    s2: { maxP50Ms: GOAL_S2_P50_MS, maxP99Ms: GOAL_S2_P99_MS, p50: s2Median?.p50 ?? null, p99: s2Median?.p99 ?? null, pass: s2Pass },
    s3: { maxSeconds: GOAL_S3_SECONDS, atEditsPerSide: GOAL_S3_EDITS, seconds: s3Median?.seconds ?? null, judged: s3Judged, pass: s3Pass },
  },
}
mkdirSync(RESULTS, { recursive: true })
const out = join(RESULTS, 'sync.json')
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)
console.log(`results: ${out}`)
process.exit(0) // a libp2p timer left behind must not keep the process up
