/**
 * Local write throughput: Tandem against raw classic-level, same documents, same machine, same run.
 *
 *   node bench/run.ts [--quick] [--n N] [--runs R] [--local-only]      (npm run bench -- --quick)
 *
 * Workloads (each timed R times, medians reported):
 *   bulk    Tandem `createDocuments` in batches of 1000   vs  classic-level `batch()` of 1000 puts
 *   single  Tandem `createDocument`, awaited one by one   vs  classic-level `put()`, awaited one by one
 *   replay  classic-level `batch()` of Tandem's own keys and values (what a bulk run leaves in its
 *           store), in as many batches, with Tandem's store options: the most Tandem's storage
 *           format allows, with no CPU work at all (information: where the bulk time goes)
 *   floor   the block floor (bench/block-floor.ts): one content-addressed dag-cbor block and one
 *           pointer a document, built then written in calls of 1000 — the least any store of
 *           such blocks does; also built alone and written alone, for its bound on every core
 *   signed  the signed block floor (bench/block-floor.ts): the same blocks made to verify alone
 *           (their author's key, one signature per 64 blocks, a proof path; stored lean, as
 *           Tandem stores its own), as issue 20 asks of Tandem's blocks; built then written, built
 *           alone and written alone, for its bound on every core; and built on two threads (the
 *           event loop and a worker, bench/signed-floor-threads.ts), then written: that bound run
 *   format  the floor of Tandem's format (bench/format-floor.ts): the signed floor's blocks with,
 *           instead of pointers, what Tandem's format keeps besides (each document checked against
 *           its schema, its record built and encoded, the head digests and the count), all made by
 *           Tandem's own code and nothing else; on one thread and on two: the least a store of
 *           Tandem's format does
 * Only the writes are timed (and the floor's building): documents, keys and batches are built before the clock starts, and the
 * database is opened before and closed after. Each timed part writes into a fresh directory under
 * os.tmpdir(), removed afterwards. See bench/README.md.
 *
 * Then, unless --local-only, it runs the sync benchmark (bench/sync.ts; not with --quick, whose smoke
 * must stay under two minutes and whose W2–W4 in compare.ts cover S1–S3) in a child process with the
 * same --runs, and then the comparison: Tandem against automerge-repo, OrbitDB and the limits
 * (bench/compare.ts), so `npm run bench` runs all three.
 */
import { deepStrictEqual, ok } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { cpus, platform, arch, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { spawnSync } from 'node:child_process'
import { ClassicLevel } from 'classic-level'
import { TwoThreadSignedFloor, WORKER_SHARE } from './signed-floor-threads.ts'
import { available as threadCpuAvailable, cpuMedians, cpuSince, snapshot, type ThreadCpu } from './thread-cpu.ts'
import { Database } from '../main/db/database.ts'
import { WRITE_BUFFER_BYTES as STORE_WRITE_BUFFER } from '../main/db/store.ts'
import {
  checkFloorOps, checkSignedFloorOps, floorBuild, floorBulk, floorBytes, floorOps, floorSigner, floorWrite, signedFloorBuild, signedFloorBulk, signedFloorKeys, signedFloorOps,
  SIGNED_CHUNK, type Op,
} from './block-floor.ts'
import { BOOKS, fmt, gc, makeDoc, mb, median, table, type Doc } from './common.ts'
import { checkFormatFloorOps, formatFloorOps, FormatFloorState, type FormatContext } from './format-floor.ts'
import { collectionIDOf, parseSDL } from '../main/db/schema.ts'
import { bucketOf } from '../main/db/digest.ts'

const BATCH = 1000
const SINGLE_MAX = 5000
const GOAL_BULK = 0.25
/** Stored bytes per new ~200-byte document, on disk after compaction, at 100k documents (issue #20: half of format 6's ~1,278 B). */
const GOAL_BYTES_PER_DOC = 640
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))

// ---- options ----

const USAGE = `usage: node bench/run.ts [--quick] [--n N] [--runs R] [--local-only]
  --quick       N = 1000, R = 1 (a smoke run); skips bench/sync.ts, whose S1–S3 W2–W4 of bench/compare.ts cover
  --n N         documents for the bulk workload (default 100000); the single workload writes min(N, ${SINGLE_MAX})
  --runs R      times each workload is measured (default 3); medians are reported
  --local-only  skip the sync benchmark (bench/sync.ts) and the peers (bench/compare.ts), which otherwise run next with the same --quick and --runs`

function options(): { n: number; runs: number; quick: boolean; localOnly: boolean } {
  let values
  try {
    values = parseArgs({
      options: {
        quick: { type: 'boolean', default: false }, n: { type: 'string' }, runs: { type: 'string' },
        'local-only': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
      },
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
  const count = (flag: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback
    const v = Number(raw)
    if (!Number.isSafeInteger(v) || v < 1) {
      console.error(`--${flag} takes a whole number of at least 1, not "${raw}"\n${USAGE}`)
      process.exit(2)
    }
    return v
  }
  const quick = values.quick === true
  return {
    quick, n: count('n', values.n, quick ? 1_000 : 100_000), runs: count('runs', values.runs, quick ? 1 : 3),
    localOnly: values['local-only'] === true,
  }
}

// ---- data (built before any timing) ----

/** A random 20-character key, like a short document ID. */
function randomKey(): string {
  return randomBytes(15).toString('base64url') // 15 bytes → 20 characters
}

interface Data {
  docs: Doc[]
  json: string[]
  bytes: number
  keys: string[]
  /** Tandem bulk input, cut into batches. */
  docBatches: Doc[][]
  /** Raw bulk input: the same JSON under random keys, cut into batches. */
  rawBatches: Array<Array<{ type: 'put'; key: string; value: string }>>
  /** The same random keys, cut as `docBatches`: the block floor's document IDs. */
  idBatches: string[][]
}

function makeData(n: number): Data {
  const docs = Array.from({ length: n }, (_, i) => makeDoc(i))
  const json = docs.map((d) => JSON.stringify(d))
  const keys = Array.from({ length: n }, randomKey)
  const docBatches: Doc[][] = []
  const rawBatches: Data['rawBatches'] = []
  const idBatches: string[][] = []
  for (let i = 0; i < n; i += BATCH) {
    docBatches.push(docs.slice(i, i + BATCH))
    idBatches.push(keys.slice(i, i + BATCH))
    rawBatches.push(json.slice(i, i + BATCH).map((value, j) => ({ type: 'put' as const, key: keys[i + j]!, value })))
  }
  return { docs, json, bytes: json.reduce((s, j) => s + Buffer.byteLength(j), 0), keys, docBatches, rawBatches, idBatches }
}

// ---- measurement ----

const dirs = new Set<string>()
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-bench-'))
  dirs.add(dir)
  return dir
}
async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  dirs.delete(dir)
}
process.on('SIGINT', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  process.exit(130)
})

/** `cpu`: the timed part's CPU by thread (bench/thread-cpu.ts), for the bulk writes. */
interface Sample { seconds: number; count: number; perSec: number; mbPerSec: number; cpu?: ThreadCpu }

function sample(seconds: number, count: number, bytes: number): Sample {
  return { seconds, count, perSec: count / seconds, mbPerSec: bytes / 1e6 / seconds }
}

/** Tandem bulk: createDocuments in batches of 1000. */
async function tandemBulk(batches: Doc[][], bytes: number): Promise<Sample> {
  const dir = await freshDir()
  try {
    const db = await Database.open(dir)
    await db.addCollections(BOOKS)
    gc()
    const cpu0 = snapshot()
    const t0 = performance.now()
    for (const batch of batches) await db.createDocuments('Books', batch)
    const seconds = (performance.now() - t0) / 1000
    const cpu = cpuSince(cpu0)
    const count = batches.reduce((s, b) => s + b.length, 0)
    const stored = (await db.getCollection('Books')).count
    await db.close()
    if (stored !== count) throw new Error(`Tandem bulk: ${stored} documents stored, ${count} written`)
    return { ...sample(seconds, count, bytes), cpu }
  } finally {
    await removeDir(dir)
  }
}

/** Tandem single: createDocument awaited one at a time (interactive edits). */
async function tandemSingle(docs: Doc[], bytes: number): Promise<Sample> {
  const dir = await freshDir()
  try {
    const db = await Database.open(dir)
    await db.addCollections(BOOKS)
    gc()
    const t0 = performance.now()
    for (const doc of docs) await db.createDocument('Books', doc)
    const seconds = (performance.now() - t0) / 1000
    const stored = (await db.getCollection('Books')).count
    await db.close()
    if (stored !== docs.length) throw new Error(`Tandem single: ${stored} documents stored, ${docs.length} written`)
    return sample(seconds, docs.length, bytes)
  } finally {
    await removeDir(dir)
  }
}

async function countKeys<K, V>(db: ClassicLevel<K, V>): Promise<number> {
  let n = 0
  for await (const _ of db.keys()) n++
  return n
}

/**
 * Times `work` on a fresh LevelDB (opened with `options`), then checks that it stored `keys` keys;
 * `count`: what the sample counts (documents or puts).
 */
async function timedStore<K, V>(what: string, options: ConstructorParameters<typeof ClassicLevel<K, V>>[1], keys: number, count: number, bytes: number, work: (db: ClassicLevel<K, V>) => Promise<void>): Promise<Sample> {
  const dir = await freshDir()
  try {
    const db = new ClassicLevel<K, V>(join(dir, 'db'), options)
    await db.open()
    gc()
    const cpu0 = snapshot()
    const t0 = performance.now()
    await work(db)
    const seconds = (performance.now() - t0) / 1000
    const cpu = cpuSince(cpu0)
    const stored = await countKeys(db)
    await db.close()
    if (stored !== keys) throw new Error(`${what}: ${stored} keys stored, ${keys} written`)
    return { ...sample(seconds, count, bytes), cpu }
  } finally {
    await removeDir(dir)
  }
}

/** Times `batch()` of each batch into a fresh LevelDB (opened with `options`), then checks every key is stored; `count`: what one key stands for. */
async function timedBatches<K, V>(what: string, options: ConstructorParameters<typeof ClassicLevel<K, V>>[1], batches: Array<Array<{ type: 'put'; key: K; value: V }>>, count: number, bytes: number): Promise<Sample> {
  const keys = batches.reduce((s, b) => s + b.length, 0)
  return timedStore<K, V>(what, options, keys, count, bytes, async (db) => { for (const batch of batches) await db.batch(batch) })
}

/** Raw bulk: classic-level batch() of 1000 puts of the same JSON. */
async function rawBulk(batches: Data['rawBatches'], bytes: number): Promise<Sample> {
  return timedBatches<string, string>('raw bulk', {}, batches, batches.reduce((s, b) => s + b.length, 0), bytes)
}

/** Raw single: classic-level put() awaited one at a time. */
async function rawSingle(keys: string[], json: string[], bytes: number): Promise<Sample> {
  const dir = await freshDir()
  try {
    const db = new ClassicLevel<string, string>(join(dir, 'db'))
    await db.open()
    gc()
    const t0 = performance.now()
    for (let i = 0; i < json.length; i++) await db.put(keys[i]!, json[i]!)
    const seconds = (performance.now() - t0) / 1000
    const stored = await countKeys(db)
    await db.close()
    if (stored !== json.length) throw new Error(`raw single: ${stored} keys stored, ${json.length} written`)
    return sample(seconds, json.length, bytes)
  } finally {
    await removeDir(dir)
  }
}

/** Tandem's own writes: the keys and values a bulk run leaves in its store (untimed), cut into as many batches. */
/** Stored bytes of the last `tandemWrites` store: keys + values, and LevelDB's files after a full compaction. */
const stored = { logical: 0, disk: 0 }

async function tandemWrites(batches: Doc[][]): Promise<Array<Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }>>> {
  const dir = await freshDir()
  try {
    const db = await Database.open(dir)
    await db.addCollections(BOOKS)
    for (const batch of batches) await db.createDocuments('Books', batch)
    await db.close()
    const raw = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'db'), { keyEncoding: 'view', valueEncoding: 'view' })
    await raw.open()
    const ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> = []
    for await (const [key, value] of raw.iterator()) ops.push({ type: 'put', key, value })
    stored.logical = ops.reduce((sum, op) => sum + op.key.length + op.value.length, 0)
    // What the documents take on disk once LevelDB has compacted everything (snappy-compressed tables).
    await raw.compactRange(new Uint8Array([0]), new Uint8Array([0xff]))
    await raw.close()
    stored.disk = 0
    for (const f of await readdir(join(dir, 'db'))) stored.disk += (await stat(join(dir, 'db', f))).size
    // In no particular order, as Tandem writes them (CIDs and docIDs are random), not in the
    // iterator's key order, which LevelDB would take faster.
    for (let i = ops.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[ops[i], ops[j]] = [ops[j]!, ops[i]!]
    }
    const per = Math.ceil(ops.length / batches.length)
    return batches.map((_, i) => ops.slice(i * per, (i + 1) * per))
  } finally {
    await removeDir(dir)
  }
}

const STORE_OPTIONS = { keyEncoding: 'view', valueEncoding: 'view', writeBufferSize: STORE_WRITE_BUFFER } as const

/** The block floor (bench/block-floor.ts), each call's blocks built and then written, as Tandem bulk is timed. */
async function floorBulkSample(d: Data): Promise<Sample> {
  return timedStore<Uint8Array, Uint8Array>('block floor', STORE_OPTIONS, 2 * d.docs.length, d.docs.length, d.bytes, (db) => floorBulk(db, d.docBatches, d.idBatches))
}

/** The collection of the format floor's records: Books, as Tandem's bulk writes it. */
const BOOKS_SCHEMA = parseSDL(BOOKS)[0]!
const BOOKS_ID = collectionIDOf(BOOKS_SCHEMA)
const formatContext = (): FormatContext => ({ schema: BOOKS_SCHEMA, collection: BOOKS_ID, time: Date.now() })

/** Keys the format floor leaves: a block and a record a document, a record a chunk, a digest a bucket used, the count. */
function formatFloorKeys(d: Data): number {
  return signedFloorKeys(d.docBatches) + new Set(d.keys.map(bucketOf)).size + 1
}

/**
 * The floor of Tandem's format (bench/format-floor.ts): each call's pairs built (on one thread, or
 * on two when `floor` is given) with its digests and count, then written as one batch, as W1 is timed.
 */
async function formatFloorSample(d: Data, floor: TwoThreadSignedFloor | null): Promise<Sample> {
  return timedStore<Uint8Array, Uint8Array>(`format floor${floor === null ? '' : ', two threads'}`, STORE_OPTIONS, formatFloorKeys(d), d.docs.length, d.bytes, async (db) => {
    const state = new FormatFloorState(BOOKS_ID)
    for (let i = 0; i < d.docBatches.length; i++) {
      const docs = d.docBatches[i]!
      const call = floor === null ? formatFloorOps(docs, d.idBatches[i]!, signer, formatContext()) : await floor.formatOps(docs, d.idBatches[i]!, formatContext())
      await db.batch(state.finish(call, docs.length))
    }
  })
}

/** The format floor's pairs of each call, with their digests and counts. */
function formatFloorPairs(d: Data): Op[][] {
  const state = new FormatFloorState(BOOKS_ID)
  return d.docBatches.map((docs, i) => state.finish(formatFloorOps(docs, d.idBatches[i]!, signer, formatContext()), docs.length))
}

/** The format floor's building alone, on one thread (no LevelDB). */
function formatBuildSample(d: Data): Sample {
  gc()
  const t0 = performance.now()
  const state = new FormatFloorState(BOOKS_ID)
  let pairs = 0
  for (let i = 0; i < d.docBatches.length; i++) pairs += state.finish(formatFloorOps(d.docBatches[i]!, d.idBatches[i]!, signer, formatContext()), d.docBatches[i]!.length).length
  const seconds = (performance.now() - t0) / 1000
  if (pairs < formatFloorKeys(d)) throw new Error(`format floor: ${pairs} pairs built for ${d.docs.length} documents`)
  return sample(seconds, d.docs.length, d.bytes)
}

/** The format floor's writing alone: its pairs, built before, written by batch(). */
async function formatWriteSample(built: Op[][], d: Data): Promise<Sample> {
  return timedStore<Uint8Array, Uint8Array>('format floor, writes alone', STORE_OPTIONS, formatFloorKeys(d), d.docs.length, d.bytes, (db) => floorWrite(db, built))
}

/** The block floor's building alone (no LevelDB). */
function floorBuildSample(d: Data): Sample {
  gc()
  const t0 = performance.now()
  const pairs = floorBuild(d.docBatches, d.idBatches)
  const seconds = (performance.now() - t0) / 1000
  if (pairs !== 2 * d.docs.length) throw new Error(`block floor: ${pairs} pairs built for ${d.docs.length} documents`)
  return sample(seconds, d.docs.length, d.bytes)
}

/** The signed block floor's signer: one key pair for the whole run (made untimed). */
const signer = floorSigner()

/** The signed block floor (bench/block-floor.ts), each call's signed blocks built and then written, as Tandem bulk is timed. */
async function signedBulkSample(d: Data): Promise<Sample> {
  return timedStore<Uint8Array, Uint8Array>('signed block floor', STORE_OPTIONS, signedFloorKeys(d.docBatches), d.docs.length, d.bytes, (db) => signedFloorBulk(db, d.docBatches, d.idBatches, signer))
}

/** The signed block floor built on two threads (bench/signed-floor-threads.ts), then written, call by call. */
async function signedThreadsSample(d: Data, floor: TwoThreadSignedFloor): Promise<Sample> {
  return timedStore<Uint8Array, Uint8Array>('signed block floor, two threads', STORE_OPTIONS, signedFloorKeys(d.docBatches), d.docs.length, d.bytes, (db) => floor.bulk(db, d.docBatches, d.idBatches))
}

/** The signed block floor's building alone (no LevelDB). */
function signedBuildSample(d: Data): Sample {
  gc()
  const t0 = performance.now()
  const pairs = signedFloorBuild(d.docBatches, d.idBatches, signer)
  const seconds = (performance.now() - t0) / 1000
  if (pairs !== signedFloorKeys(d.docBatches)) throw new Error(`signed block floor: ${pairs} pairs built for ${d.docs.length} documents`)
  return sample(seconds, d.docs.length, d.bytes)
}

/** The signed block floor's writing alone: its pairs, built before, written by batch(). */
async function signedWriteSample(built: Op[][], d: Data): Promise<Sample> {
  return timedStore<Uint8Array, Uint8Array>('signed block floor, writes alone', STORE_OPTIONS, signedFloorKeys(d.docBatches), d.docs.length, d.bytes, (db) => floorWrite(db, built))
}

/** The block floor's writing alone: its pairs, built before, written by batch(). */
async function floorWriteSample(built: Op[][], d: Data): Promise<Sample> {
  return timedStore<Uint8Array, Uint8Array>('block floor, writes alone', STORE_OPTIONS, 2 * d.docs.length, d.docs.length, d.bytes, (db) => floorWrite(db, built))
}

/** Replay: classic-level batch() of Tandem's own writes, with the options Tandem's store opens LevelDB with. */
async function replayBulk(batches: Array<Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }>>, docs: number, bytes: number): Promise<Sample> {
  return timedBatches<Uint8Array, Uint8Array>('replay', STORE_OPTIONS, batches, docs, bytes)
}

function medianOf(samples: Sample[]): { seconds: number; perSec: number; mbPerSec: number } {
  return { seconds: median(samples.map((s) => s.seconds)), perSec: median(samples.map((s) => s.perSec)), mbPerSec: median(samples.map((s) => s.mbPerSec)) }
}

// ---- output ----

// ---- main ----

const { n, runs, quick, localOnly } = options()
const singleN = Math.min(n, SINGLE_MAX)
const log = (s: string): void => { process.stderr.write(`${s}\n`) }

log(`building ${fmt(n)} documents…`)
const data = makeData(n)
const singleDocs = data.docs.slice(0, singleN)
const singleJSON = data.json.slice(0, singleN)
const singleKeys = data.keys.slice(0, singleN)
const singleBytes = singleJSON.reduce((s, j) => s + Buffer.byteLength(j), 0)
const sizes = data.json.map((j) => Buffer.byteLength(j))

// Warm-up, untimed: lets V8 compile the write paths before the first measured run.
log('warming up (untimed)…')
const warm = makeData(Math.min(n, 2 * BATCH))
await tandemBulk(warm.docBatches, warm.bytes)
await rawBulk(warm.rawBatches, warm.bytes)
await floorBulkSample(warm)
await signedBulkSample(warm)
const twoThreads = new TwoThreadSignedFloor(signer)
await signedThreadsSample(warm, twoThreads)
await formatFloorSample(warm, null)
await formatFloorSample(warm, twoThreads)
await tandemSingle(warm.docs.slice(0, 200), 0)
await rawSingle(warm.keys.slice(0, 200), warm.json.slice(0, 200), 0)

log('recording the keys and values Tandem writes (untimed)…')
const replayBatches = await tandemWrites(data.docBatches)
const replayBytes = floorBytes(replayBatches)
let formatBytes = 0

const samples = {
  tandemBulk: [] as Sample[], rawBulk: [] as Sample[], replayBulk: [] as Sample[], tandemSingle: [] as Sample[], rawSingle: [] as Sample[],
  floorBulk: [] as Sample[], floorBuild: [] as Sample[], floorWrite: [] as Sample[],
  signedBulk: [] as Sample[], signedBuild: [] as Sample[], signedWrite: [] as Sample[], signedThreads: [] as Sample[],
  format: [] as Sample[], formatThreads: [] as Sample[], formatBuild: [] as Sample[], formatWrite: [] as Sample[],
}
let floorPairBytes = 0
let signedPairBytes = 0
for (let r = 0; r < runs; r++) {
  // Alternate which side goes first, so neither always runs on a warmer (or more fragmented) disk.
  const tandemFirst = r % 2 === 0
  log(`run ${r + 1}/${runs}: bulk (${fmt(n)} docs)…`)
  if (tandemFirst) {
    samples.tandemBulk.push(await tandemBulk(data.docBatches, data.bytes))
    samples.rawBulk.push(await rawBulk(data.rawBatches, data.bytes))
  } else {
    samples.rawBulk.push(await rawBulk(data.rawBatches, data.bytes))
    samples.tandemBulk.push(await tandemBulk(data.docBatches, data.bytes))
  }
  log(`run ${r + 1}/${runs}: replay of Tandem's writes…`)
  samples.replayBulk.push(await replayBulk(replayBatches, n, data.bytes))
  log(`run ${r + 1}/${runs}: the block floor (built and written; built alone; written alone)…`)
  samples.floorBulk.push(await floorBulkSample(data))
  samples.floorBuild.push(floorBuildSample(data))
  {
    const pairs = data.docBatches.map((b, i) => floorOps(b, data.idBatches[i]!)) // untimed
    floorPairBytes = floorBytes(pairs)
    samples.floorWrite.push(await floorWriteSample(pairs, data))
  }
  log(`run ${r + 1}/${runs}: the signed block floor (built and written; built alone; written alone)…`)
  samples.signedBulk.push(await signedBulkSample(data))
  samples.signedBuild.push(signedBuildSample(data))
  {
    const pairs = data.docBatches.map((b, i) => signedFloorOps(b, data.idBatches[i]!, signer)) // untimed
    signedPairBytes = floorBytes(pairs)
    samples.signedWrite.push(await signedWriteSample(pairs, data))
  }
  log(`run ${r + 1}/${runs}: the signed block floor on two threads…`)
  samples.signedThreads.push(await signedThreadsSample(data, twoThreads))
  log(`run ${r + 1}/${runs}: the floor of Tandem's format (one thread; two; built alone; written alone)…`)
  samples.format.push(await formatFloorSample(data, null))
  samples.formatThreads.push(await formatFloorSample(data, twoThreads))
  samples.formatBuild.push(formatBuildSample(data))
  {
    const pairs = formatFloorPairs(data) // untimed
    formatBytes = floorBytes(pairs)
    samples.formatWrite.push(await formatWriteSample(pairs, data))
  }
  log(`run ${r + 1}/${runs}: single (${fmt(singleN)} docs)…`)
  if (tandemFirst) {
    samples.tandemSingle.push(await tandemSingle(singleDocs, singleBytes))
    samples.rawSingle.push(await rawSingle(singleKeys, singleJSON, singleBytes))
  } else {
    samples.rawSingle.push(await rawSingle(singleKeys, singleJSON, singleBytes))
    samples.tandemSingle.push(await tandemSingle(singleDocs, singleBytes))
  }
}

// The floors' blocks are what they claim (untimed; after the runs, so that the checks' own encodes
// and decodes do not teach V8's encoder other shapes before the floors are timed).
await checkFloorOps(warm.docs[0]!, warm.keys[0]!)
await checkSignedFloorOps(warm.docBatches[0]!, warm.idBatches[0]!, signer)
checkFormatFloorOps(warm.docBatches[0]!, warm.idBatches[0]!, signer, formatContext())
// The two threads build the one-thread floor's very pairs (Ed25519 signatures are deterministic).
{
  const bytes = (ops: Op[]): Array<[Buffer, Buffer]> => ops.map((op) => [Buffer.from(op.key), Buffer.from(op.value)])
  deepStrictEqual(bytes(await twoThreads.ops(warm.docBatches[0]!, warm.idBatches[0]!)), bytes(signedFloorOps(warm.docBatches[0]!, warm.idBatches[0]!, signer)), 'the signed floor on two threads builds the one-thread pairs')
  const ctx = formatContext()
  const [one, two] = [formatFloorOps(warm.docBatches[0]!, warm.idBatches[0]!, signer, ctx), await twoThreads.formatOps(warm.docBatches[0]!, warm.idBatches[0]!, ctx)]
  // The same pairs in another order (each thread's records follow its blocks), compared as sets.
  const pairs = (ops: Op[]): string => ops.map((op) => `${Buffer.from(op.key).toString('hex')}=${Buffer.from(op.value).toString('hex')}`).sort().join('\n')
  ok(pairs(two.ops) === pairs(one.ops) && Buffer.compare(two.delta, one.delta) === 0, 'the format floor on two threads builds the one-thread pairs')
}
await twoThreads.close()

const medians = {
  tandemBulk: medianOf(samples.tandemBulk),
  rawBulk: medianOf(samples.rawBulk),
  replayBulk: medianOf(samples.replayBulk),
  tandemSingle: medianOf(samples.tandemSingle),
  rawSingle: medianOf(samples.rawSingle),
  floorBulk: medianOf(samples.floorBulk),
  floorBuild: medianOf(samples.floorBuild),
  floorWrite: medianOf(samples.floorWrite),
  signedBulk: medianOf(samples.signedBulk),
  signedBuild: medianOf(samples.signedBuild),
  signedWrite: medianOf(samples.signedWrite),
  signedThreads: medianOf(samples.signedThreads),
  format: medianOf(samples.format),
  formatThreads: medianOf(samples.formatThreads),
  formatBuild: medianOf(samples.formatBuild),
  formatWrite: medianOf(samples.formatWrite),
}
const cpu = cpus()
/** A floor's bound with its building spread perfectly over every core: build ÷ cores + write, per document. */
const spreadOf = (build: { seconds: number }, write: { seconds: number }): number => n / (build.seconds / cpu.length + write.seconds)
const floorSpread = spreadOf(medians.floorBuild, medians.floorWrite)
const signedSpread = spreadOf(medians.signedBuild, medians.signedWrite)
const formatSpread = spreadOf(medians.formatBuild, medians.formatWrite)
const ratios = {
  bulk: medians.tandemBulk.perSec / medians.rawBulk.perSec,
  single: medians.tandemSingle.perSec / medians.rawSingle.perSec,
  /** The most the storage format allows: Tandem's own bytes written raw, ÷ raw. */
  replay: medians.replayBulk.perSec / medians.rawBulk.perSec,
  /** Tandem ÷ its own bytes written raw: the share of the format's limit the CPU work leaves. */
  tandemOfReplay: medians.tandemBulk.perSec / medians.replayBulk.perSec,
  /** The least a content-addressed block per document costs, built and written on one thread, ÷ raw. */
  floor: medians.floorBulk.perSec / medians.rawBulk.perSec,
  /** The same with its building spread over every core (a bound, not a run), ÷ raw. */
  floorSpread: floorSpread / medians.rawBulk.perSec,
  tandemOfFloor: medians.tandemBulk.perSec / medians.floorBulk.perSec,
  /** The least a signed block per document that verifies alone costs, built and written on one thread, ÷ raw. */
  signed: medians.signedBulk.perSec / medians.rawBulk.perSec,
  tandemOfSigned: medians.tandemBulk.perSec / medians.signedBulk.perSec,
  signedSpread: signedSpread / medians.rawBulk.perSec,
  /** The signed floor built on two threads for real (the worker's share copied over and back), then written, ÷ raw. */
  signedThreads: medians.signedThreads.perSec / medians.rawBulk.perSec,
  tandemOfSignedThreads: medians.tandemBulk.perSec / medians.signedThreads.perSec,
  /** The floor of Tandem's format (signed blocks, records, digests, count, the schema check), one thread and two, ÷ raw. */
  format: medians.format.perSec / medians.rawBulk.perSec,
  formatThreads: medians.formatThreads.perSec / medians.rawBulk.perSec,
  tandemOfFormat: medians.tandemBulk.perSec / medians.format.perSec,
  tandemOfFormatThreads: medians.tandemBulk.perSec / medians.formatThreads.perSec,
  formatSpread: formatSpread / medians.rawBulk.perSec,
}
const bulkPass = ratios.bulk >= GOAL_BULK
const bytesPerDoc = { disk: stored.disk / n, logical: stored.logical / n }
const bytesPass = bytesPerDoc.disk <= GOAL_BYTES_PER_DOC
const usPerDoc = (m: { seconds: number }): string => `${(m.seconds / n * 1e6).toFixed(1)} µs`

/** A limit's row: its rate, Tandem's share of it, its ratio to raw. */
const limitRow = (what: string, perSec: number, tandemOf: number, ratio: number): string[] =>
  [what, `${fmt(perSec)} docs/s (Tandem: ${tandemOf.toFixed(2)} of it)`, `${fmt(medians.rawBulk.perSec)} puts/s`, ratio.toFixed(3), '-', 'limit']
/** A floor's bound row (`spreadOf`): its building and writing per document, the bound, its ratio to raw. */
const boundRow = (floor: string, build: { seconds: number }, write: { seconds: number }, spread: number, ratio: number): string[] =>
  [`${floor}'s building spread over ${cpu.length} cores: build ${usPerDoc(build)} ÷ ${cpu.length} + write ${usPerDoc(write)} a document`, `${fmt(spread)} docs/s`, `${fmt(medians.rawBulk.perSec)} puts/s`, ratio.toFixed(3), '-', 'bound']

const rows = [
  ['workload', 'Tandem', 'raw classic-level', 'ratio', 'goal', 'result'],
  [
    `bulk create, batches of ${fmt(BATCH)} (${fmt(n)} docs)`,
    `${fmt(medians.tandemBulk.perSec)} docs/s (${mb(medians.tandemBulk.mbPerSec)} MB/s)`,
    `${fmt(medians.rawBulk.perSec)} puts/s (${mb(medians.rawBulk.mbPerSec)} MB/s)`,
    ratios.bulk.toFixed(3),
    `>= ${GOAL_BULK}`,
    bulkPass ? 'pass' : 'MISS',
  ],
  limitRow(`replay: Tandem's ${fmt(replayBatches.flat().length)} keys and values (${mb(replayBytes / 1e6)} MB) written raw, ${fmt(replayBatches.length)} batches`, medians.replayBulk.perSec, ratios.tandemOfReplay, ratios.replay),
  limitRow(`block floor: one dag-cbor block and one pointer a document (${fmt(floorPairBytes / n)} B), built then written, one thread`, medians.floorBulk.perSec, ratios.tandemOfFloor, ratios.floor),
  boundRow('the floor', medians.floorBuild, medians.floorWrite, floorSpread, ratios.floorSpread),
  limitRow(`signed block floor: the floor's blocks made to verify alone (author's key, a signature per ${SIGNED_CHUNK}, proof path; stored lean; ${fmt(signedPairBytes / n)} B), built then written, one thread`, medians.signedBulk.perSec, ratios.tandemOfSigned, ratios.signed),
  boundRow('the signed floor', medians.signedBuild, medians.signedWrite, signedSpread, ratios.signedSpread),
  limitRow(`signed block floor built on two threads (the event loop and a worker, ${Math.round(WORKER_SHARE * 100)}% of each call's chunks: its documents copied over, its pairs back), then written`, medians.signedThreads.perSec, ratios.tandemOfSignedThreads, ratios.signedThreads),
  limitRow(`floor of Tandem's format: the signed floor's blocks with each document checked against its schema, its record built and encoded, the head digests and the count, by Tandem's code (${fmt(formatBytes / n)} B), one thread`, medians.format.perSec, ratios.tandemOfFormat, ratios.format),
  limitRow('the same built on two threads (each call\'s chunks shared as the signed floor\'s are)', medians.formatThreads.perSec, ratios.tandemOfFormatThreads, ratios.formatThreads),
  boundRow('the format floor', medians.formatBuild, medians.formatWrite, formatSpread, ratios.formatSpread),
  [
    `single create, awaited one by one (${fmt(singleN)} docs)`,
    `${fmt(medians.tandemSingle.perSec)} docs/s`,
    `${fmt(medians.rawSingle.perSec)} puts/s`,
    ratios.single.toFixed(3),
    '-',
    'info',
  ],
]

console.log('')
console.log(`Tandem local writes vs raw classic-level: ${fmt(n)} documents of ${fmt(data.bytes / n)} B JSON on average ` +
  `(${fmt(Math.min(...sizes))}–${fmt(Math.max(...sizes))} B), ${runs} run${runs === 1 ? '' : 's'}, medians`)
console.log(`node ${process.version}, ${platform()} ${arch()}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, dir ${tmpdir()}`)
console.log('')
console.log(table(rows))
console.log('')
console.log('ratio = Tandem docs/s ÷ raw puts/s. MB/s counts document JSON bytes (1 MB = 10^6 B).')
console.log(`replay = the bytes a bulk run leaves in Tandem's store (blocks, records, digests; ${fmt(replayBytes / n)} B a document), written by`)
console.log('classic-level batch() with no other work: its ratio is the most Tandem could reach with its storage format.')
console.log('block floor = the least any store of content-addressed dag-cbor blocks does for a document (bench/block-floor.ts): one block')
console.log('{ d: docID, f: fields } encoded, hashed and stored under its CID, and the ID pointing to it; nothing else. Each call of')
console.log(`${fmt(BATCH)} is built, then written (one atomic batch(), acknowledged before the next call starts), as Tandem bulk is timed;`)
console.log("'spread' is its bound if the building ran on every core at once with no cost to share the work (the writes as measured).")
console.log('signed block floor = the same blocks made to verify alone, as issue 20 asks of Tandem\'s: each also carries its author\'s public key and')
console.log(`{ s, p, d }: one Ed25519 signature per ${SIGNED_CHUNK} blocks over their Merkle root, its proof path and side bits; its CID is of the whole block.`)
console.log('Stored lean (without the signature entry; each chunk\'s signature and leaves once), with the same pointer. The least any store of')
console.log(`signed, self-verifying blocks does for a document on one thread here: ${ratios.signed < GOAL_BULK ? 'under' : 'at or over'} the ${GOAL_BULK} goal in this run; with its`)
console.log(`building spread perfectly over both cores, ${ratios.signedSpread < GOAL_BULK ? 'under' : 'at or over'} it; built on two threads for real (the worker's share of`)
console.log(`each call copied to it and its pairs back, the same pairs), ${ratios.signedThreads < GOAL_BULK ? 'under' : 'at or over'} it.`)
console.log("floor of Tandem's format = the signed floor's blocks, without pointers, with what Tandem's format keeps besides, made by Tandem's own")
console.log('code and nothing more: each document checked against its schema (its block built of the checked fields), its record (fields, stamps,')
console.log('heads) built and encoded under its key, its head digest entry XORed into its bucket, each call\'s bucket digests and count. Given free:')
console.log("Tandem's larger blocks and docIDs, its transaction, its index of heads, its events. The least a store of Tandem's format does for a")
console.log(`document: ${ratios.format < GOAL_BULK ? 'under' : 'at or over'} the goal on one thread, ${ratios.formatThreads < GOAL_BULK ? 'under' : 'at or over'} it on two; with its building spread perfectly`)
console.log(`over both cores for free, ${ratios.formatSpread < GOAL_BULK ? 'under' : 'at or over'} it.`)
if (threadCpuAvailable) {
  // Where the bulk writes' CPU went, by thread (bench/thread-cpu.ts): what is left to overlap, and on which core.
  const cpuRows = [['bulk writes', 'wall s', 'CPU s: main thread', "V8's helpers, workers", 'LevelDB, libuv', 'cores busy', 'main thread µs a doc']]
  for (const [what, xs] of [['Tandem', samples.tandemBulk], ['replay', samples.replayBulk], ['raw', samples.rawBulk], ['signed floor', samples.signedBulk], ['signed floor, two threads', samples.signedThreads], ['format floor', samples.format], ['format floor, two threads', samples.formatThreads]] as const) {
    const m = cpuMedians(xs.map((x) => ({ seconds: x.seconds, cpu: x.cpu! })), median)
    cpuRows.push([what, fmt(median(xs.map((x) => x.seconds)), 2), fmt(m.main, 2), fmt(m.helpers, 2), fmt(m.io, 2), `${fmt(m.cores, 2)} of ${cpu.length}`, fmt((m.main / n) * 1e6, 1)])
  }
  console.log('')
  console.log(table(cpuRows))
  console.log("CPU by thread (Linux /proc, medians): the main thread runs Tandem's work and waits for each batch(); LevelDB's writes and compaction run on")
  console.log('  libuv threads; cores busy = their sum ÷ wall time.')
  console.log('')
}
console.log(`stored bytes per document: ${fmt(bytesPerDoc.disk)} B on disk after a full compaction (goal <= ${GOAL_BYTES_PER_DOC} B at 100k: ` +
  `${n < 100_000 ? `not measured at ${fmt(n)}` : bytesPass ? 'pass' : 'MISS'}), ${fmt(bytesPerDoc.logical)} B of keys and values before compression`)

const result = {
  benchmark: 'local-writes',
  date: new Date().toISOString(),
  node: process.version,
  v8: process.versions.v8,
  classicLevel: (await import('classic-level/package.json', { with: { type: 'json' } })).default.version,
  machine: { platform: platform(), release: release(), arch: arch(), cpus: cpu.length, cpuModel: cpu[0]?.model ?? null, totalMemBytes: totalmem(), tmpdir: tmpdir() },
  quick,
  n,
  singleN,
  runs,
  batchSize: BATCH,
  docBytes: { total: data.bytes, mean: data.bytes / n, min: Math.min(...sizes), max: Math.max(...sizes), singleTotal: singleBytes },
  replay: { keys: replayBatches.flat().length, bytes: replayBytes, batches: replayBatches.length, writeBufferSize: STORE_WRITE_BUFFER },
  floor: { what: 'one dag-cbor block { d, f } under its 36-byte CID and a docID → CID pointer a document; built then written per call of 1000 (floorBulk), built alone (floorBuild), written alone (floorWrite)', bytes: floorPairBytes, spreadPerSec: floorSpread, cores: cpu.length },
  signedFloor: { what: `the block floor's blocks with their author's 32-byte key and { s, p, d } (one Ed25519 signature per ${SIGNED_CHUNK} blocks over their Merkle root, proof path, side bits), stored lean with a record of each chunk's signature and leaves, and the pointer; built then written per call of 1000 (signedBulk), built alone (signedBuild), written alone (signedWrite)`, bytes: signedPairBytes, chunk: SIGNED_CHUNK, spreadPerSec: signedSpread, belowGoal: ratios.signed < GOAL_BULK, spreadBelowGoal: ratios.signedSpread < GOAL_BULK, twoThreads: { what: 'the same pairs, each call built on the event loop and a worker thread (the worker\'s share of the documents copied to it, its pairs back in transferred buffers), then written (signedThreads)', workerShare: WORKER_SHARE, perSec: medians.signedThreads.perSec, belowGoal: ratios.signedThreads < GOAL_BULK } },
  formatFloor: { what: "the signed floor's blocks without pointers, with each document checked against its schema, its record built and encoded under its key, its head digest entry, each call's bucket digests and count, by Tandem's own code; built on one thread (format) and on two (formatThreads), then written per call of 1000", bytes: formatBytes, onePerSec: medians.format.perSec, twoPerSec: medians.formatThreads.perSec, spreadPerSec: formatSpread, belowGoal: ratios.format < GOAL_BULK, twoBelowGoal: ratios.formatThreads < GOAL_BULK, spreadBelowGoal: ratios.formatSpread < GOAL_BULK },
  units: { perSec: 'documents (Tandem) or puts (raw) per second', mbPerSec: 'document JSON bytes / 1e6 per second', seconds: 'wall time of the writes alone' },
  samples,
  medians,
  ratios,
  storedBytes: { diskAfterCompaction: stored.disk, keysAndValues: stored.logical, perDoc: bytesPerDoc },
  goals: { bulk: { min: GOAL_BULK, ratio: ratios.bulk, pass: bulkPass }, bytesPerDoc: { max: GOAL_BYTES_PER_DOC, perDoc: bytesPerDoc.disk, pass: n >= 100_000 ? bytesPass : null } },
}
mkdirSync(RESULTS, { recursive: true })
const out = join(RESULTS, 'local-writes.json')
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)
console.log(`results: ${out}`)

// ---- then the sync benchmark, in its own process (its own heap, its own libp2p nodes) ----

if (!localOnly && !quick) {
  console.log('')
  const args = [fileURLToPath(new URL('./sync.ts', import.meta.url)), '--runs', String(runs), ...(quick ? ['--quick'] : [])]
  const child = spawnSync(process.execPath, args, { stdio: 'inherit' })
  if (child.error !== undefined) {
    console.error(`could not run bench/sync.ts: ${child.error.message}`)
    process.exit(1)
  }
  if (child.status !== 0) process.exit(child.status ?? 1)
}
if (!localOnly) {
  // Then Tandem against automerge-repo and OrbitDB (bench/compare.ts, its peers in bench/node_modules).
  console.log('')
  const peers = spawnSync(process.execPath, [fileURLToPath(new URL('./compare.ts', import.meta.url)), '--runs', String(runs), ...(quick ? ['--quick'] : [])], { stdio: 'inherit' })
  if (peers.error !== undefined) {
    console.error(`could not run bench/compare.ts: ${peers.error.message}`)
    process.exit(1)
  }
  if (peers.status !== 0) process.exit(peers.status ?? 1)
}
