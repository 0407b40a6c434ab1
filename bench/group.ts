/**
 * W6: a group of up to five devices on loopback, each device in its own process (bench/group-device.ts).
 *
 *   node bench/group.ts [--quick] [--runs R] [--n N] [--edits E] [--devices LIST] [--only edit,catchup,pinned,relayed,bystanders,bare] [--json]
 *
 * Per run, for each group size d in --devices (default 2,3,4,5; the order alternates between runs):
 *   edit     d fresh devices share 100 documents; device 1 makes E edits one at a time (E = 1000,
 *            quick 200), each timed from calling updateDocument to the change event (origin remote,
 *            carrying that edit's block) on the last of the d−1 others. p50 / p99.
 *   catchup  d−1 holders already hold the same N documents (N = 100k, quick 2k; built once, untimed,
 *            and their data directories copied for every run) and are connected; a fresh device that
 *            defines Books joins them; timed from forming the group to its change event for the N-th
 *            document. docs/s.
 *   pinned   (only when asked for) the catch-up again, with the fresh device's process bound to one
 *            core and every holder's to the other (Linux `taskset`; needs 2 cores): the fresh device's
 *            CPU its own, as on its own machine, the holders sharing the other core. On this machine
 *            five processes contend for the two cores the fresh device's checks and commits wait on;
 *            this separates that contention from the protocol's own cost, in the same run. Reported
 *            beside the goal, not as it.
 *   relayed  (only when asked for) a fresh device catches up from one holder that did not write the
 *            documents (holder 2, whose copy came from holder 1), beside the catch-up from their author
 *            in the same run: blocks by another device come with no attestation of their sender's,
 *            so each one's proof path and batch signature are checked here (issue 20's "fetch from
 *            several" depends on what that costs). Its ratio to the catch-up from the author.
 *   bystanders (only when asked for) the catch-up from four holders again, with holders 2–4 connected
 *            members that serve nothing (heads, blocks and replication refused at once; group and
 *            schema exchanges, gossip, identify and ping as usual): in effect a catch-up from holder
 *            1, the author, alone, with three more devices merely there. On this machine every
 *            process shares the two cores the fresh device's checks wait on, so this is the most
 *            four holders can give here if the three others cost nothing beyond being connected;
 *            beside the catch-up from one and from four in the same run.
 *   bare     (only when asked for) the same with holders 2–4 replaced by the bare stack: Tandem's
 *            libp2p host alone (no database, no Tandem protocol, no topic) with each holder's key,
 *            so the fresh device knows them as the group's devices and connects to them as to any:
 *            what three more connected devices cost here at the least, whatever runs over the stack.
 *   limit    with each edit group size, the same stack's gossip alone: d processes each run Tandem's
 *            libp2p host (its gossipsub settings, its key) with no database, all connected, one
 *            topic; device 1 publishes E messages of 600 bytes one at a time, each timed to its
 *            arrival on the last of the others, through the same parent as the edits. What the
 *            machine and the stack give at each size: the edit goal's limit in the same run.
 *   streams  the same, with each message written to one stream kept open to each device (a
 *            length-prefixed dag-cbor map, as Tandem's own protocols frame theirs) instead of
 *            gossipsub: the least any protocol over this stack (TCP, Noise, Yamux) does to bring
 *            one edit to d−1 devices. If its p99 at five devices is over twice its p99 at two, no
 *            protocol over this stack meets the edit goal on this machine.
 * In both, every device reports its CPU time (process.cpuUsage of its own process) and the bytes on
 * its TCP sockets over the timed part. Goals (issue 20, goal 5), within each run, then the median:
 *   - p99 of one edit reaching the four others ≤ 2 × the two-device p99;
 *   - catch-up from four holders at least as fast as from one (faster if it fetches from several).
 * Every device listens on 127.0.0.1 (port 0) only, without mDNS. See bench/README.md, "W6".
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { cpus, platform, arch, release, tmpdir, totalmem, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { fmt, mb, median, table } from './common.ts'

const DOCS_SHARED = 100
const WARMUP_EDITS = 20
const EDIT_TIMEOUT_MS = 5_000
const MESH_SETTLE_MS = 1_000
const GOAL_P99_FACTOR = 2
const GOAL_CATCHUP_RATIO = 1
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
const DEVICE_SCRIPT = fileURLToPath(new URL('./group-device.ts', import.meta.url))

// ---- options ----

const PHASES = ['edit', 'catchup', 'pinned', 'relayed', 'bystanders', 'bare'] as const
const DEFAULT_PHASES: readonly Phase[] = ['edit', 'catchup']
/** The pinned catch-up: the fresh device on core 0, every holder on core 1. */
const FRESH_CORE = 0
const HOLDERS_CORE = 1
type Phase = typeof PHASES[number]

const USAGE = `usage: node bench/group.ts [--quick] [--runs R] [--n N] [--edits E] [--devices LIST] [--only LIST] [--profile DIR] [--json]
  --quick         N = 2000, E = 200, R = 1 (a smoke run)
  --runs R        runs (default 3); medians are reported
  --n N           documents the holders hold for the catch-up (default 100000)
  --edits E       timed edits per group size (default 1000)
  --devices LIST  group sizes, comma-separated, each 2 to 5 (default 2,3,4,5); the goals need 2 and 5
  --only LIST     phases, of ${PHASES.join(',')} (default edit,catchup; pinned: the catch-up again with the fresh device
                  on one core and the holders on the other, Linux taskset; relayed: from one holder that did not
                  write the documents, beside one from their author; bystanders: from four holders of which
                  three are connected but serve nothing; bare: from four of which three are the bare stack)
  --profile DIR   CPU profiles of the timed parts (editor and last receiver; fresh device and every holder) in DIR
  --json          print one JSON line (the results) instead of the table, and write no file (bench/compare.ts)`

export interface Options { quick: boolean; runs: number; n: number; edits: number; devices: number[]; only: Set<Phase>; json: boolean; profile?: string }

export function parseOptions(argv: string[]): Options | { error: string } | { help: true } {
  let values
  try {
    values = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false }, runs: { type: 'string' }, n: { type: 'string' }, edits: { type: 'string' },
        devices: { type: 'string' }, only: { type: 'string' }, profile: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values
  } catch (err) {
    return { error: (err as Error).message }
  }
  if (values.help) return { help: true }
  const quick = values.quick === true
  const count = (flag: string, raw: string | undefined, fallback: number, min = 1): number | string => {
    if (raw === undefined) return fallback
    const v = Number(raw)
    return Number.isSafeInteger(v) && v >= min ? v : `--${flag} takes a whole number of at least ${min}, not "${raw}"`
  }
  const runs = count('runs', values.runs, quick ? 1 : 3)
  const n = count('n', values.n, quick ? 2_000 : 100_000)
  const edits = count('edits', values.edits, quick ? 200 : 1000)
  for (const v of [runs, n, edits]) if (typeof v === 'string') return { error: v }
  const devices = (values.devices ?? '2,3,4,5').split(',').map((x) => x.trim()).filter((x) => x !== '').map(Number)
  if (devices.length === 0 || devices.some((d) => !Number.isSafeInteger(d) || d < 2 || d > 5)) return { error: `--devices takes group sizes from 2 to 5, comma-separated, not "${values.devices}"` }
  const only = new Set<Phase>()
  for (const p of (values.only ?? DEFAULT_PHASES.join(',')).split(',').map((x) => x.trim().toLowerCase()).filter((x) => x !== '')) {
    if (!(PHASES as readonly string[]).includes(p)) return { error: `--only takes phases among ${PHASES.join(', ')}, not "${p}"` }
    only.add(p as Phase)
  }
  if (only.size === 0) return { error: '--only names no phase' }
  if (only.has('pinned') && (cpus().length < 2 || !hasTaskset())) return { error: 'the pinned phase needs Linux taskset and at least 2 cores' }
  for (const p of ['bystanders', 'bare'] as const) {
    if (only.has(p) && !only.has('catchup')) return { error: `the ${p} phase is compared with the catch-up from one holder and from four: add catchup to --only` }
  }
  return { quick, runs: runs as number, n: n as number, edits: edits as number, devices: [...new Set(devices)].sort((a, b) => a - b), only, json: values.json === true, ...(values.profile !== undefined ? { profile: values.profile } : {}) }
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

// ---- measurement helpers ----

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

/** The CLOCK_MONOTONIC time in ms, the clock every device process stamps its events with. */
const now = (): number => Number(process.hrtime.bigint()) / 1e6
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

// ---- devices: one child process each ----

interface Counters { t: number; cpuUserUs: number; cpuSystemUs: number; bytesIn: number; bytesOut: number; sockets: number }
interface State { deviceID: string; addrs: string[]; connected: string[]; syncing: boolean; total?: number; digest?: string }
/** What one device did over a timed part. */
export interface Use { cpuMs: number; bytesIn: number; bytesOut: number }

const devices = new Set<Device>()
const dirs = new Set<string>()

class Device {
  readonly name: string
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  #next = 0
  #exited = false
  deviceID = ''
  addrs: string[] = []

  private constructor(name: string, child: ChildProcess) {
    this.name = name
    this.#child = child
    child.on('message', (msg: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const p = this.#pending.get(msg.id)
      if (p === undefined) return
      this.#pending.delete(msg.id)
      if (msg.ok) p.resolve(msg.value)
      else p.reject(new Error(`${this.name}: ${msg.error}`))
    })
    child.on('exit', (code, signal) => {
      this.#exited = true
      devices.delete(this)
      for (const p of this.#pending.values()) p.reject(new Error(`${this.name} exited (${signal ?? code}) while asked something`))
      this.#pending.clear()
    })
  }

  static async spawn(name: string): Promise<Device> {
    const child = fork(DEVICE_SCRIPT, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    const device = new Device(name, child)
    devices.add(device)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: its process did not start within 30 s`)), 30_000)
      child.once('message', () => { clearTimeout(timer); resolve() })
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name}: its process exited (${code}) before it was ready`)) })
    })
    return device
  }

  /** Binds this device's process (every thread it has and will have) to one core. */
  pin(cpu: number): void {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(this.#child.pid)], { stdio: 'ignore' })
  }

  call<T>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    if (this.#exited) return Promise.reject(new Error(`${this.name} has exited`))
    const id = this.#next++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => { this.#pending.delete(id); reject(new Error(`${this.name}: no answer to ${cmd} within ${fmt(timeoutMs / 1000)} s`)) }, timeoutMs)
      this.#pending.set(id, { resolve: (v) => { clearTimeout(timer); resolve(v as T) }, reject: (e) => { clearTimeout(timer); reject(e) } })
      this.#child.send({ id, cmd, args })
    })
  }

  async start(dataDir: string, p2p = true): Promise<void> {
    const r = await this.call<{ deviceID: string; addrs: string[] }>('start', { dataDir, p2p }, 120_000)
    this.deviceID = r.deviceID
    this.addrs = r.addrs
  }

  state(data = true): Promise<State> {
    return this.call<State>('state', { data }, 60_000)
  }

  /** Stops the node and waits for its process to end (killed if it does not within 20 s). */
  async stop(): Promise<void> {
    if (this.#exited) return
    const exited = new Promise<void>((r) => this.#child.once('exit', () => r()))
    await this.call('stop', {}, 20_000).catch(() => {})
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 20_000)
    await exited
    clearTimeout(timer)
  }

  kill(): void {
    if (!this.#exited) this.#child.kill('SIGKILL')
  }
}

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-bench-group-'))
  dirs.add(dir)
  return dir
}
async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  dirs.delete(dir)
}
async function stopAll(some: Device[]): Promise<void> {
  await Promise.all(some.map((d) => d.stop()))
}

function cleanUpNow(): void {
  for (const d of devices) d.kill()
  devices.clear()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  dirs.clear()
}

/** Polls `check` until it returns true; throws after `ms`. */
async function until(check: () => Promise<boolean> | boolean, what: string, ms: number, everyMs = 25): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    if (await check()) return
    if (Date.now() > end) throw new Error(`timed out after ${fmt(ms / 1000, 1)} s waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** The devices become one group: the first one's secret, each knows the others and their addresses (as tests/helpers/nodes.ts). */
async function formGroup(group: Device[]): Promise<void> {
  const secret = await group[0]!.call<string>('secret')
  for (const d of group.slice(1)) await d.call('setSecret', { secret })
  await Promise.all(group.map((d) => d.call('addDevices', { devices: group.filter((o) => o !== d).map((o) => ({ deviceID: o.deviceID, addrs: o.addrs })) })))
}

async function allConnected(group: Device[]): Promise<boolean> {
  const states = await Promise.all(group.map((d) => d.state(false)))
  return states.every((s) => group.every((o) => o.deviceID === s.deviceID || s.connected.includes(o.deviceID)))
}

async function sameData(group: Device[], n: number): Promise<boolean> {
  const states = await Promise.all(group.map((d) => d.state()))
  return states.every((s) => s.total === n && s.digest === states[0]!.digest)
}

async function counters(group: Device[], gcFirst: boolean): Promise<Counters[]> {
  return Promise.all(group.map((d) => d.call<Counters>('counters', { gc: gcFirst })))
}

function use(a: Counters, b: Counters): Use {
  return { cpuMs: (b.cpuUserUs + b.cpuSystemUs - a.cpuUserUs - a.cpuSystemUs) / 1000, bytesIn: b.bytesIn - a.bytesIn, bytesOut: b.bytesOut - a.bytesOut }
}

/** CPU profiles of some devices over a timed part (--profile DIR); a no-op without it. */
async function profiled<T>(dir: string | undefined, who: Array<[Device, string]>, part: () => Promise<T>): Promise<T> {
  if (dir === undefined) return part()
  mkdirSync(dir, { recursive: true })
  await Promise.all(who.map(([d]) => d.call('profileStart')))
  const out = await part()
  await Promise.all(who.map(([d, name]) => d.call('profileStop', { file: join(dir, `${name}.cpuprofile`) })))
  return out
}

// ---- edit: one edit to every other device ----

export interface EditSample {
  devices: number; edits: number
  /** ms from updateDocument on device 1 to the change event on the last of the others. */
  p50: number; p99: number; max: number
  /** The same, per receiving device (every receiver's latency pooled). */
  eachP50: number; eachP99: number
  /** The local write (updateDocument returning) on device 1. */
  localP50: number
  seconds: number
  /** Device 1 (the editor) first, then the others. */
  use: Use[]
  latenciesMs: number[]
}

async function editRun(d: number, edits: number, log: (s: string) => void, profile?: { dir: string; run: number }): Promise<EditSample> {
  const group: Device[] = []
  const made: string[] = []
  try {
    for (let i = 0; i < d; i++) group.push(await Device.spawn(`device ${i + 1} of ${d}`))
    for (const dev of group) {
      const dir = await freshDir()
      made.push(dir)
      await dev.start(dir)
      await dev.call('addBooks')
    }
    const [editor, ...others] = group as [Device, ...Device[]]
    const ids = await editor.call<string[]>('createDocs', { n: DOCS_SHARED, ids: true })
    await formGroup(group)
    await until(() => allConnected(group), `W6 edit (${d} devices): every device connected to every other`, 30_000)
    await until(() => sameData(group, DOCS_SHARED), `W6 edit (${d} devices): the ${DOCS_SHARED} documents everywhere`, 30_000, 50)
    await sleep(MESH_SETTLE_MS) // the gossip mesh forms (~25 ms on loopback; 1 s to be safe)
    const tag = `run${(profile?.run ?? 0) + 1}-edit-${d}dev`
    const sample = await timeSends(group, edits, (i) => editor.call('edit', { docID: ids[i % ids.length], i }),
      (part) => profiled(profile?.dir, [[editor, `${tag}-editor`], [others.at(-1)!, `${tag}-receiver`]], part))
    log(`  ${d} devices: p50 ${fmt(sample.p50, 2)} ms, p99 ${fmt(sample.p99, 2)} ms to all ${d - 1} others`)
    return sample
  } finally {
    await stopAll(group)
    for (const dir of made) await removeDir(dir)
  }
}

/** What a timed part measured: every device's counters around it, and its length. */
interface Timed { before: Counters[]; after: Counters[]; seconds: number }

/**
 * Device 1 sends (`send`: an edit, or a bare gossip message) one at a time, WARMUP_EDITS untimed
 * (the first publishes find the mesh, V8 compiles), then `edits` timed, each from its start on
 * device 1 to its arrival on the last of the others. `around` wraps the timed part (a CPU profile).
 */
async function timeSends(group: Device[], edits: number, send: (i: number) => Promise<{ t0: number; t1: number; cid: string }>,
  around: (part: () => Promise<Timed>) => Promise<Timed> = (part) => part()): Promise<EditSample> {
  const others = group.slice(1)
  await Promise.all(others.map((o) => o.call('record', { on: true })))
  const one = async (i: number): Promise<{ all: number; each: number[]; local: number }> => {
    const r = await send(i)
    const ts = await Promise.all(others.map((o) => o.call<number>('arrived', { cid: r.cid, timeoutMs: EDIT_TIMEOUT_MS }, EDIT_TIMEOUT_MS + 5_000)))
    const each = ts.map((t) => t - r.t0)
    return { all: Math.max(...each), each, local: r.t1 - r.t0 }
  }
  for (let i = 0; i < WARMUP_EDITS; i++) await one(i)
  const all: number[] = []
  const each: number[] = []
  const local: number[] = []
  const { before, after, seconds } = await around(async () => {
    const before = await counters(group, true)
    const t0 = now()
    for (let i = 0; i < edits; i++) {
      const r = await one(WARMUP_EDITS + i)
      all.push(r.all)
      each.push(...r.each)
      local.push(r.local)
    }
    const seconds = (now() - t0) / 1000
    return { before, after: await counters(group, false), seconds }
  })
  return {
    devices: group.length, edits, p50: percentile(all, 50), p99: percentile(all, 99), max: Math.max(...all),
    eachP50: percentile(each, 50), eachP99: percentile(each, 99), localP50: percentile(local, 50), seconds,
    use: group.map((_, k) => use(before[k]!, after[k]!)), latenciesMs: all.map((x) => Math.round(x * 1000) / 1000),
  }
}

/**
 * The edit phase's limits at group size `d`: the same processes and parent, Tandem's libp2p host with
 * its gossipsub settings and no database, every device connected to every other; device 1 sends
 * `edits` messages of 600 bytes one at a time, each timed to its arrival on the last of the others.
 * `gossip`: published on one gossipsub topic, as Tandem publishes an edit. `streams`: written to one
 * stream per device kept open (one length-prefixed message each, as Tandem's own protocols frame
 * them): no gossipsub at all, the least any protocol over this stack can do per edit.
 */
async function limitRun(d: number, edits: number, kind: 'gossip' | 'streams', log: (s: string) => void): Promise<EditSample> {
  const group: Device[] = []
  try {
    for (let i = 0; i < d; i++) group.push(await Device.spawn(`${kind} device ${i + 1} of ${d}`))
    const addrs: string[][] = []
    for (const dev of group) addrs.push((await dev.call<{ addrs: string[] }>('rawStart')).addrs)
    for (let i = 0; i < d; i++) await group[i]!.call('rawDial', { addrs: addrs.slice(i + 1).map((a) => a[0]!) })
    await until(async () => (await Promise.all(group.map((g) => g.call<number>('rawSubscribers')))).every((n) => n === d - 1), `W6 limit (${d} devices): every device following the topic`, 30_000)
    if (kind === 'streams') {
      for (const dev of group) await dev.call('streamsHandle')
      const open = await group[0]!.call<number>('streamsOpen')
      if (open !== d - 1) throw new Error(`W6 streams limit (${d} devices): ${open} streams open, not ${d - 1}`)
    }
    await sleep(MESH_SETTLE_MS)
    const sample = await timeSends(group, edits, (i) => group[0]!.call(kind === 'streams' ? 'streamsSend' : 'rawPublish', { i }))
    log(`  limit, ${d} devices (${kind === 'streams' ? 'direct streams' : 'gossip'} alone): p50 ${fmt(sample.p50, 2)} ms, p99 ${fmt(sample.p99, 2)} ms to all ${d - 1} others`)
    return sample
  } finally {
    await stopAll(group)
  }
}

// ---- catch-up: a fresh device joins holders of N documents ----

interface Holders { dirs: string[]; n: number; blocks: number; blockBytes: number; buildSeconds: number; spreadSeconds: number }

/**
 * Four holders of the same N documents (untimed, once): the first writes them, the three others
 * define Books and join its group, and pull them. Their data directories are copied for each run.
 */
async function buildHolders(n: number, log: (s: string) => void): Promise<Holders> {
  const group: Device[] = []
  const holderDirs: string[] = []
  try {
    for (let i = 0; i < 4; i++) {
      const dev = await Device.spawn(`holder ${i + 1}`)
      group.push(dev)
      const dir = await freshDir()
      holderDirs.push(dir)
      await dev.start(dir)
      await dev.call('addBooks')
    }
    const t0 = now()
    await group[0]!.call('createDocs', { n }, 600_000 + n * 10)
    const buildSeconds = (now() - t0) / 1000
    const { blocks, blockBytes } = await group[0]!.call<{ blocks: number; blockBytes: number }>('blockStats', {}, 300_000)
    log(`  ${fmt(n)} documents written on holder 1 in ${fmt(buildSeconds, 1)} s; holders 2–4 pulling them…`)
    const t1 = now()
    await formGroup(group)
    await until(() => sameData(group, n), `W6 holders: ${fmt(n)} documents on all four`, 120_000 + n * 20, 500)
    const spreadSeconds = (now() - t1) / 1000
    return { dirs: holderDirs, n, blocks, blockBytes, buildSeconds, spreadSeconds }
  } finally {
    await stopAll(group)
  }
}

export interface CatchupSample {
  holders: number; n: number; seconds: number; docsPerSec: number
  /** ms from forming the group to the first document on the fresh device (connect, head exchange, the first frame). */
  firstDocMs: number
  /** Seconds from forming the group until each further tenth of the documents had arrived. */
  tenths: number[]
  /** The fresh device. */
  fresh: Use
  /** Each holder, in order (holder 1 wrote the documents). */
  holderUse: Use[]
  /** Holders that sent at least a tenth of the documents' block bytes: how many it fetched from. */
  served: number
  /** The fresh device on one core, the holders on the other (the pinned phase). */
  pinned: boolean
  /** The holders' copies came from another device: holder 1, their author, is not among them (the relayed phase). */
  relayed: boolean
  /** Holders 2 onwards connected but serving nothing (the bystanders phase). */
  bystanders: boolean
  /** Holders 2 onwards the bare stack with their keys (the bare phase). */
  bare: boolean
}

/** How a catch-up runs besides its number of holders (the pinned, relayed, bystanders and bare phases). */
interface CatchupMode { pinned?: boolean; relayed?: boolean; bystanders?: boolean; bare?: boolean }

async function catchupRun(h: Holders, k: number, mode: CatchupMode, log: (s: string) => void, profile?: { dir: string; run: number }): Promise<CatchupSample> {
  const { pinned = false, relayed = false, bystanders = false, bare = false } = mode
  const group: Device[] = []
  const made: string[] = []
  try {
    const holders: Device[] = []
    for (let i = 0; i < k; i++) {
      const of = relayed ? i + 1 : i // relayed: holder 2 onwards, which pulled the documents from holder 1
      const dev = await Device.spawn(`holder ${of + 1}${bare && i > 0 ? ' (bare stack)' : ''}`)
      if (pinned) dev.pin(HOLDERS_CORE)
      group.push(dev)
      holders.push(dev)
      if (bare && i > 0) {
        // Its key only (read from its directory); it holds nothing.
        const r = await dev.call<{ deviceID: string; addrs: string[] }>('rawStartAs', { dir: h.dirs[of]! })
        dev.deviceID = r.deviceID
        dev.addrs = r.addrs
        continue
      }
      const dir = await freshDir()
      made.push(dir)
      await cp(h.dirs[of]!, dir, { recursive: true })
      await dev.start(dir)
    }
    const nodes = bare ? holders.slice(0, 1) : holders // the holders that are Tandem nodes
    const bareHosts = bare ? holders.slice(1) : []
    const fresh = await Device.spawn('fresh device')
    if (pinned) fresh.pin(FRESH_CORE)
    group.push(fresh)
    const freshDirPath = await freshDir()
    made.push(freshDirPath)
    await fresh.start(freshDirPath)
    await fresh.call('addBooks')
    // The holders are one group already (on disk); their addresses are new (port 0): tell each the others'.
    if (nodes.length > 1) {
      await Promise.all(nodes.map((d) => d.call('addDevices', { devices: nodes.filter((o) => o !== d).map((o) => ({ deviceID: o.deviceID, addrs: o.addrs })) })))
      await until(() => allConnected(nodes), `W6 catch-up: the ${k} holders connected`, 30_000)
    }
    await until(async () => (await Promise.all(nodes.map((d) => d.state(false)))).every((s) => !s.syncing), `W6 catch-up: the holders' head exchanges to end`, 30_000)
    if (bystanders) await Promise.all(holders.slice(1).map((d) => d.call('serveNothing')))
    await sleep(200)
    await fresh.call('setSecret', { secret: await holders[0]!.call<string>('secret') })
    await fresh.call('countDocs', { n: h.n })
    const limitMs = 60_000 + h.n * 5 // aborts below ~200 docs/s
    const tag = `run${(profile?.run ?? 0) + 1}-catchup-${k}holders${pinned ? '-pinned' : ''}${relayed ? '-relayed' : ''}${bystanders ? '-bystanders' : ''}${bare ? '-bare' : ''}`
    const { before, after, t0, done } = await profiled(profile?.dir, [[fresh, `${tag}-fresh`], ...holders.map((d, i): [Device, string] => [d, `${tag}-holder${i + 1}`])], async () => {
      const before = await counters(group, true)
      // Timed from forming the group (the fresh device learns the holders, they learn it) to its N-th document.
      const t0 = now()
      await Promise.all([
        fresh.call('addDevices', { devices: holders.map((o) => ({ deviceID: o.deviceID, addrs: o.addrs })) }),
        ...nodes.map((d) => d.call('addDevices', { devices: [{ deviceID: fresh.deviceID, addrs: fresh.addrs }] })),
        // A bare host dials as a Tandem device would: at once when its ID is the lower (else the fresh device does).
        ...bareHosts.filter((d) => d.deviceID < fresh.deviceID).map((d) => d.call('rawDial', { addrs: fresh.addrs })),
      ])
      const done = await fresh.call<{ t: number; seen: number; tenths: number[] }>('docsArrived', { timeoutMs: limitMs }, limitMs + 10_000)
      return { before, after: await counters(group, false), t0, done }
    })
    const seconds = (done.t - t0) / 1000
    const firstDocMs = done.tenths[0]! - t0
    const tenths = done.tenths.slice(1).map((x) => (x - t0) / 1000)
    // Untimed checks: every document there, the same digest as the holders.
    await until(() => sameData([holders[0]!, fresh], h.n), `W6 catch-up: the same ${fmt(h.n)} documents and digest on the fresh device`, 30_000, 100)
    if (bareHosts.length > 0) {
      // The limit holds only if the bare hosts were there: connected to the fresh device as devices.
      const { connected } = await fresh.state(false)
      const absent = bareHosts.filter((d) => !connected.includes(d.deviceID))
      if (absent.length > 0) throw new Error(`W6 catch-up (bare): ${absent.map((d) => d.name).join(', ')} not connected to the fresh device`)
    }
    const us = group.map((_, i) => use(before[i]!, after[i]!))
    const holderUse = us.slice(0, k)
    const sample = {
      holders: k, n: h.n, seconds, docsPerSec: h.n / seconds, firstDocMs, tenths, fresh: us[k]!, holderUse,
      served: holderUse.filter((u) => u.bytesOut >= h.blockBytes / 10).length, pinned, relayed, bystanders, bare,
    }
    log(`  ${pinned ? 'pinned, ' : ''}from ${k} holder${k === 1 ? '' : 's'}${relayed ? ' that did not write them' : ''}${bystanders ? `, ${k - 1} of them serving nothing` : ''}${bare ? `, ${k - 1} of them the bare stack` : ''}: ${fmt(sample.docsPerSec)} docs/s, ${fmt(seconds, 2)} s (first document after ${fmt(firstDocMs)} ms); received ${mb(sample.fresh.bytesIn / 1e6)} MB; ${sample.served} served`)
    return sample
  } finally {
    await stopAll(group)
    for (const dir of made) await removeDir(dir)
  }
}

// ---- a whole measurement ----

export interface Result {
  benchmark: 'group'
  date: string
  node: string
  machine: Record<string, unknown>
  options: Omit<Options, 'only' | 'json'> & { only: Phase[] }
  holders: Omit<Holders, 'dirs'> | null
  /** `limit`: the stack's gossip alone; `streams`: direct streams alone (limitRun). */
  samples: { edit: Array<EditSample & { run: number }>; limit: Array<EditSample & { run: number }>; streams: Array<EditSample & { run: number }>; catchup: Array<CatchupSample & { run: number }> }
  /**
   * `catchup`: the goal's (every process anywhere on the machine); `pinned`: the fresh device and the holders each on one core; `relayed`: from one holder that did not write the documents;
   * `bystanders`: from four holders of which three serve nothing; `bare`: from four of which three are the bare stack.
   */
  medians: {
    edit: ReturnType<typeof editMedian>[]; limit: ReturnType<typeof editMedian>[]; streams: ReturnType<typeof editMedian>[]
    catchup: ReturnType<typeof catchupMedian>[]; pinned: ReturnType<typeof catchupMedian>[]; relayed: ReturnType<typeof catchupMedian>[]; bystanders: ReturnType<typeof catchupMedian>[]
    bare: ReturnType<typeof catchupMedian>[]
  }
  goals: {
    p99: {
      maxFactor: number; ratio: number | null; ratios: number[]; p99Two: number | null; p99Five: number | null; pass: boolean | null
      /** The same ratio for the stack's gossip alone (the limit phase). */
      limit: { ratio: number | null; ratios: number[]; p99Two: number | null; p99Five: number | null }
      /** The same ratio for direct streams alone: no protocol over this stack does less per edit. */
      streams: { ratio: number | null; ratios: number[]; p99Two: number | null; p99Five: number | null }
    }
    catchup: {
      minRatio: number; ratio: number | null; ratios: number[]; fromOne: number | null; fromFour: number | null; pass: boolean | null; servedByFour: number | null; faster: boolean | null
      /** Bytes the fresh device received from four holders ÷ from one. */
      bytesRatio: number | null
      /** The same ratio with the fresh device on one core and the holders on the other (the pinned phase). */
      pinned: { ratio: number | null; ratios: number[]; fromOne: number | null; fromFour: number | null }
      /** One holder that did not write the documents ÷ their author, each alone (the relayed phase). */
      relayed: { ratio: number | null; ratios: number[]; fromAuthor: number | null; fromOther: number | null }
      /**
       * Holders 2–4 there but serving nothing, ÷ one holder alone (`ratio`: what merely having them connected costs here), and
       * four serving ÷ that (`fourRatios`: how the catch-up from four compares with leaving three of them idle), each within a run.
       */
      bystanders: IdleHolders
      /** The same with holders 2–4 the bare stack (`withBystanders`: that catch-up's docs/s). */
      bare: IdleHolders
    }
  }
  loadavg: { before: number[]; after: number[] }
}

/** A catch-up from four of which three serve nothing (bystanders, bare), against one holder alone and four serving. */
interface IdleHolders { ratio: number | null; ratios: number[]; fromOne: number | null; withBystanders: number | null; fourRatio: number | null; fourRatios: number[] }

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
const mean = (xs: number[]): number => (xs.length === 0 ? Number.NaN : sum(xs) / xs.length)

function editMedian(xs: EditSample[]) {
  const d = xs[0]!.devices
  const per = (f: (s: EditSample) => number): number => median(xs.map(f))
  return {
    devices: d, edits: xs[0]!.edits, runs: xs.length,
    p50: per((s) => s.p50), p99: per((s) => s.p99), max: per((s) => s.max), eachP50: per((s) => s.eachP50), eachP99: per((s) => s.eachP99), localP50: per((s) => s.localP50),
    /** Per edit: bytes the editor sent and received; bytes each other device received and sent (mean over them); all devices' CPU. */
    editorOutPerEdit: per((s) => s.use[0]!.bytesOut / s.edits),
    editorInPerEdit: per((s) => s.use[0]!.bytesIn / s.edits),
    otherInPerEdit: per((s) => mean(s.use.slice(1).map((u) => u.bytesIn)) / s.edits),
    otherOutPerEdit: per((s) => mean(s.use.slice(1).map((u) => u.bytesOut)) / s.edits),
    bytesPerDevicePerEdit: per((s) => mean(s.use.map((u) => u.bytesIn + u.bytesOut)) / s.edits),
    editorCpuMsPerEdit: per((s) => s.use[0]!.cpuMs / s.edits),
    otherCpuMsPerEdit: per((s) => mean(s.use.slice(1).map((u) => u.cpuMs)) / s.edits),
    allCpuMsPerEdit: per((s) => sum(s.use.map((u) => u.cpuMs)) / s.edits),
  }
}

function catchupMedian(xs: CatchupSample[]) {
  const per = (f: (s: CatchupSample) => number): number => median(xs.map(f))
  return {
    holders: xs[0]!.holders, devices: xs[0]!.holders + 1, n: xs[0]!.n, runs: xs.length,
    seconds: per((s) => s.seconds), docsPerSec: per((s) => s.docsPerSec), firstDocMs: per((s) => s.firstDocMs),
    freshBytesIn: per((s) => s.fresh.bytesIn), freshBytesOut: per((s) => s.fresh.bytesOut), freshCpuMs: per((s) => s.fresh.cpuMs),
    holderBytesOutMean: per((s) => mean(s.holderUse.map((u) => u.bytesOut))), holderBytesOutMax: per((s) => Math.max(...s.holderUse.map((u) => u.bytesOut))),
    holderBytesOutMin: per((s) => Math.min(...s.holderUse.map((u) => u.bytesOut))),
    holdersCpuMs: per((s) => sum(s.holderUse.map((u) => u.cpuMs))), holderCpuMsMax: per((s) => Math.max(...s.holderUse.map((u) => u.cpuMs))),
    bytesPerDevice: per((s) => mean([s.fresh, ...s.holderUse].map((u) => u.bytesIn + u.bytesOut))),
    served: per((s) => s.served),
  }
}

export async function measure(o: Options, log: (s: string) => void): Promise<Result> {
  const load0 = loadavg()
  const samples: Result['samples'] = { edit: [], limit: [], streams: [], catchup: [] }
  let holders: Holders | null = null
  const holderCounts = o.devices.map((d) => d - 1)
  if (o.only.has('catchup') || o.only.has('pinned') || o.only.has('relayed') || o.only.has('bystanders') || o.only.has('bare')) {
    log(`group: four holders of ${fmt(o.n)} documents (untimed, once)…`)
    holders = await buildHolders(o.n, log)
    log(`  spread to holders 2–4 in ${fmt(holders.spreadSeconds, 1)} s`)
  }
  for (let r = 0; r < o.runs; r++) {
    // Alternate the order of the group sizes between runs, so no size always goes first.
    const order = <T>(xs: T[]): T[] => (r % 2 === 0 ? xs : [...xs].reverse())
    if (o.only.has('edit')) {
      log(`group run ${r + 1}/${o.runs}: one edit to every other device, ${fmt(o.edits)} edits per group size…`)
      for (const d of order(o.devices)) {
        samples.edit.push({ ...await editRun(d, o.edits, log, o.profile === undefined ? undefined : { dir: o.profile, run: r }), run: r })
        samples.limit.push({ ...await limitRun(d, o.edits, 'gossip', log), run: r })
        samples.streams.push({ ...await limitRun(d, o.edits, 'streams', log), run: r })
      }
    }
    if (holders !== null) {
      log(`group run ${r + 1}/${o.runs}: a fresh device catches up on ${fmt(o.n)} documents…`)
      const prof = o.profile === undefined ? undefined : { dir: o.profile, run: r }
      if (o.only.has('catchup')) for (const k of order(holderCounts)) samples.catchup.push({ ...await catchupRun(holders, k, {}, log, prof), run: r })
      if (o.only.has('pinned')) {
        log(`  …and with the fresh device on core ${FRESH_CORE}, the holders on core ${HOLDERS_CORE}:`)
        for (const k of order(holderCounts)) samples.catchup.push({ ...await catchupRun(holders, k, { pinned: true }, log, prof), run: r })
      }
      if (o.only.has('relayed')) {
        log('  …and from one holder that did not write them, beside one from their author:')
        for (const relayed of order([false, true])) samples.catchup.push({ ...await catchupRun(holders, 1, { relayed }, log, prof), run: r })
      }
      if (o.only.has('bystanders')) {
        log('  …and from four holders of which three are connected but serve nothing:')
        samples.catchup.push({ ...await catchupRun(holders, 4, { bystanders: true }, log, prof), run: r })
      }
      if (o.only.has('bare')) {
        log('  …and from four holders of which three are the bare stack (their keys, no Tandem):')
        samples.catchup.push({ ...await catchupRun(holders, 4, { bare: true }, log, prof), run: r })
      }
    }
  }
  for (const dir of holders?.dirs ?? []) await removeDir(dir)

  const editMedians = o.devices.flatMap((d) => { const xs = samples.edit.filter((s) => s.devices === d); return xs.length === 0 ? [] : [editMedian(xs)] })
  const limitMedians = o.devices.flatMap((d) => { const xs = samples.limit.filter((s) => s.devices === d); return xs.length === 0 ? [] : [editMedian(xs)] })
  const streamsMedians = o.devices.flatMap((d) => { const xs = samples.streams.filter((s) => s.devices === d); return xs.length === 0 ? [] : [editMedian(xs)] })
  // With the relayed phase, a run has two catch-ups from the author alone: the goal's ratio takes the catchup phase's (the first).
  const plain = (pinned: boolean) => (s: CatchupSample & { run: number }): boolean => s.pinned === pinned && !s.relayed && !s.bystanders && !s.bare
  const catchupMediansOf = (keep: (s: CatchupSample & { run: number }) => boolean): ReturnType<typeof catchupMedian>[] =>
    holderCounts.flatMap((k) => { const xs = samples.catchup.filter((s) => s.holders === k && keep(s)); return xs.length === 0 ? [] : [catchupMedian(xs)] })
  const catchupMedians = catchupMediansOf(plain(false))
  const pinnedMedians = catchupMediansOf(plain(true))
  const relayedMedians = catchupMediansOf((s) => s.relayed)
  const bystandersMedians = catchupMediansOf((s) => s.bystanders)
  const bareMedians = catchupMediansOf((s) => s.bare)
  // Ratios within each run (the two figures measured minutes apart), then their median.
  const within = <S extends { run: number }>(xs: S[], a: (s: S) => boolean, b: (s: S) => boolean, f: (x: S, y: S) => number): number[] => {
    const out: number[] = []
    for (let r = 0; r < o.runs; r++) {
      const x = xs.find((s) => s.run === r && a(s))
      const y = xs.find((s) => s.run === r && b(s))
      if (x !== undefined && y !== undefined) out.push(f(x, y))
    }
    return out
  }
  const p99Ratios = within(samples.edit, (s) => s.devices === 5, (s) => s.devices === 2, (five, two) => five.p99 / two.p99)
  const limitRatios = within(samples.limit, (s) => s.devices === 5, (s) => s.devices === 2, (five, two) => five.p99 / two.p99)
  const streamsRatios = within(samples.streams, (s) => s.devices === 5, (s) => s.devices === 2, (five, two) => five.p99 / two.p99)
  const catchupRatiosOf = (pinned: boolean): number[] =>
    within(samples.catchup, (s) => plain(pinned)(s) && s.holders === 4, (s) => plain(pinned)(s) && s.holders === 1, (four, one) => four.docsPerSec / one.docsPerSec)
  const catchupRatios = catchupRatiosOf(false)
  const pinnedRatios = catchupRatiosOf(true)
  // The relayed phase's own catch-up from the author (the last one of the run from one unpinned holder not relayed).
  const relayedRatios: number[] = []
  for (let r = 0; r < o.runs; r++) {
    const other = samples.catchup.find((s) => s.run === r && s.relayed)
    const author = samples.catchup.filter((s) => s.run === r && plain(false)(s) && s.holders === 1).at(-1)
    if (other !== undefined && author !== undefined) relayedRatios.push(other.docsPerSec / author.docsPerSec)
  }
  const p99Ratio = p99Ratios.length === 0 ? null : median(p99Ratios)
  const catchupRatio = catchupRatios.length === 0 ? null : median(catchupRatios)
  const four = catchupMedians.find((m) => m.holders === 4)
  const one = catchupMedians.find((m) => m.holders === 1)
  // The bystanders and bare catch-ups against the run's own from one (the first, as the goal's) and from four.
  const againstOneAndFour = (phase: (s: CatchupSample) => boolean, medians: ReturnType<typeof catchupMedian>[]): IdleHolders => {
    const ratios = within(samples.catchup, phase, (s) => plain(false)(s) && s.holders === 1, (b, one) => b.docsPerSec / one.docsPerSec)
    const fourRatios = within(samples.catchup, (s) => plain(false)(s) && s.holders === 4, phase, (four, b) => four.docsPerSec / b.docsPerSec)
    return {
      ratio: ratios.length === 0 ? null : median(ratios), ratios,
      fromOne: one?.docsPerSec ?? null,
      withBystanders: medians[0]?.docsPerSec ?? null,
      fourRatio: fourRatios.length === 0 ? null : median(fourRatios), fourRatios,
    }
  }
  const cpu = cpus()
  return {
    benchmark: 'group',
    date: new Date().toISOString(),
    node: process.version,
    machine: { platform: platform(), release: release(), arch: arch(), cpus: cpu.length, cpuModel: cpu[0]?.model ?? null, totalMemBytes: totalmem(), tmpdir: tmpdir() },
    options: { quick: o.quick, runs: o.runs, n: o.n, edits: o.edits, devices: o.devices, only: [...o.only] },
    holders: holders === null ? null : (({ dirs: _d, ...rest }) => rest)(holders),
    samples,
    medians: { edit: editMedians, limit: limitMedians, streams: streamsMedians, catchup: catchupMedians, pinned: pinnedMedians, relayed: relayedMedians, bystanders: bystandersMedians, bare: bareMedians },
    goals: {
      p99: {
        maxFactor: GOAL_P99_FACTOR, ratio: p99Ratio, ratios: p99Ratios,
        p99Two: editMedians.find((m) => m.devices === 2)?.p99 ?? null, p99Five: editMedians.find((m) => m.devices === 5)?.p99 ?? null,
        pass: p99Ratio === null ? null : p99Ratio <= GOAL_P99_FACTOR,
        limit: {
          ratio: limitRatios.length === 0 ? null : median(limitRatios), ratios: limitRatios,
          p99Two: limitMedians.find((m) => m.devices === 2)?.p99 ?? null, p99Five: limitMedians.find((m) => m.devices === 5)?.p99 ?? null,
        },
        streams: {
          ratio: streamsRatios.length === 0 ? null : median(streamsRatios), ratios: streamsRatios,
          p99Two: streamsMedians.find((m) => m.devices === 2)?.p99 ?? null, p99Five: streamsMedians.find((m) => m.devices === 5)?.p99 ?? null,
        },
      },
      catchup: {
        minRatio: GOAL_CATCHUP_RATIO, ratio: catchupRatio, ratios: catchupRatios,
        fromOne: one?.docsPerSec ?? null, fromFour: four?.docsPerSec ?? null,
        pass: catchupRatio === null ? null : catchupRatio >= GOAL_CATCHUP_RATIO,
        servedByFour: four?.served ?? null, faster: catchupRatio === null ? null : catchupRatio > 1,
        bytesRatio: four === undefined || one === undefined ? null : four.freshBytesIn / one.freshBytesIn,
        pinned: {
          ratio: pinnedRatios.length === 0 ? null : median(pinnedRatios), ratios: pinnedRatios,
          fromOne: pinnedMedians.find((m) => m.holders === 1)?.docsPerSec ?? null, fromFour: pinnedMedians.find((m) => m.holders === 4)?.docsPerSec ?? null,
        },
        relayed: {
          ratio: relayedRatios.length === 0 ? null : median(relayedRatios), ratios: relayedRatios,
          fromAuthor: relayedRatios.length === 0 ? null : median(samples.catchup.filter((s) => plain(false)(s) && s.holders === 1).map((s) => s.docsPerSec)),
          fromOther: relayedMedians[0]?.docsPerSec ?? null,
        },
        bystanders: againstOneAndFour((s) => s.bystanders, bystandersMedians),
        bare: againstOneAndFour((s) => s.bare, bareMedians),
      },
    },
    loadavg: { before: load0, after: loadavg() },
  }
}

// ---- output ----

const kb = (bytes: number): string => `${fmt(bytes / 1e3, bytes < 1e4 ? 1 : 0)} kB`
const mbytes = (bytes: number): string => `${mb(bytes / 1e6)} MB`
const verdict = (pass: boolean | null): string => (pass === null ? 'not judged' : pass ? 'pass' : 'MISS')

export function report(res: Result): string {
  const lines: string[] = []
  const m = res.medians
  const machine = res.machine as { cpus: number; cpuModel: string | null; platform: string; arch: string }
  lines.push(`W6: a group of devices on loopback, each in its own process: ${res.options.runs} run${res.options.runs === 1 ? '' : 's'}, medians`)
  lines.push(`node ${res.node}, ${machine.platform} ${machine.arch}, ${machine.cpus} × ${machine.cpuModel ?? 'unknown CPU'}; load average before ${res.loadavg.before.map((x) => x.toFixed(2)).join(' ')}, after ${res.loadavg.after.map((x) => x.toFixed(2)).join(' ')}`)
  if (m.edit.length > 0) {
    lines.push('', `One edit from device 1 to every other device (${fmt(m.edit[0]!.edits)} edits one at a time; latency to the last of the others):`, '')
    const rows = [['devices', 'p50', 'p99', 'max', 'each receiver p50 / p99', 'editor sends / receives per edit', 'each other receives / sends per edit', 'per device per edit (in+out)', 'CPU per edit: editor / each other / all', `all ÷ ${machine.cpus} cores`]]
    for (const e of m.edit) {
      rows.push([String(e.devices), `${fmt(e.p50, 2)} ms`, `${fmt(e.p99, 2)} ms`, `${fmt(e.max, 1)} ms`, `${fmt(e.eachP50, 2)} / ${fmt(e.eachP99, 2)} ms`,
        `${kb(e.editorOutPerEdit)} / ${kb(e.editorInPerEdit)}`, `${kb(e.otherInPerEdit)} / ${kb(e.otherOutPerEdit)}`, kb(e.bytesPerDevicePerEdit),
        `${fmt(e.editorCpuMsPerEdit, 2)} / ${fmt(e.otherCpuMsPerEdit, 2)} / ${fmt(e.allCpuMsPerEdit, 2)} ms`, `${fmt(e.allCpuMsPerEdit / machine.cpus, 2)} ms`])
    }
    lines.push(table(rows))
  }
  const limitTable = (title: string, ms: ReturnType<typeof editMedian>[]): void => {
    if (ms.length === 0) return
    lines.push('', title.replace('{n}', fmt(ms[0]!.edits)), '')
    const rows = [['devices', 'p50', 'p99', 'max', 'each receiver p50 / p99', 'per device per message (in+out)', 'CPU per message: sender / each other / all', `all ÷ ${machine.cpus} cores`]]
    for (const e of ms) {
      rows.push([String(e.devices), `${fmt(e.p50, 2)} ms`, `${fmt(e.p99, 2)} ms`, `${fmt(e.max, 1)} ms`, `${fmt(e.eachP50, 2)} / ${fmt(e.eachP99, 2)} ms`, kb(e.bytesPerDevicePerEdit),
        `${fmt(e.editorCpuMsPerEdit, 2)} / ${fmt(e.otherCpuMsPerEdit, 2)} / ${fmt(e.allCpuMsPerEdit, 2)} ms`, `${fmt(e.allCpuMsPerEdit / machine.cpus, 2)} ms`])
    }
    lines.push(table(rows))
  }
  limitTable("Limit, same run: the stack's gossip alone (Tandem's libp2p host and gossipsub settings, no database; {n} messages of 600 B one at a time):", m.limit)
  limitTable('Limit, same run: direct streams alone (the same host, one stream kept open to each device, no gossipsub; {n} messages of 600 B one at a time):', m.streams)
  const catchupTable = (title: string, ms: ReturnType<typeof catchupMedian>[]): void => {
    const h = res.holders
    if (ms.length === 0 || h === null) return
    lines.push('', title.replace('{n}', fmt(h.n)).replace('{bytes}', mbytes(h.blockBytes)), '')
    const rows = [['devices', 'holders', 'time', 'first doc', 'docs/s', 'fresh device receives (÷ block bytes)', 'each holder sends: mean (min–max)', 'holders that served', 'per device (in+out)', 'CPU: fresh device / holders (sum)']]
    for (const c of ms) {
      rows.push([String(c.devices), String(c.holders), `${fmt(c.seconds, 2)} s`, `${fmt(c.firstDocMs / 1000, 2)} s`, fmt(c.docsPerSec), `${mbytes(c.freshBytesIn)} (${(c.freshBytesIn / h.blockBytes).toFixed(2)}×)`,
        `${mbytes(c.holderBytesOutMean)} (${mbytes(c.holderBytesOutMin)}–${mbytes(c.holderBytesOutMax)})`, `${fmt(c.served)} of ${c.holders}`, mbytes(c.bytesPerDevice),
        `${fmt(c.freshCpuMs / 1000, 1)} s / ${fmt(c.holdersCpuMs / 1000, 1)} s`])
    }
    lines.push(table(rows))
  }
  catchupTable('A fresh device catches up on {n} documents ({bytes} of blocks) that its connected holders hold:', m.catchup)
  catchupTable(`The same, pinned: the fresh device's process on core ${FRESH_CORE}, every holder's on core ${HOLDERS_CORE} (each side's CPU as on its own machine):`, m.pinned)
  catchupTable('The same from one holder that did not write the documents (its copy came from holder 1, their author):', m.relayed ?? [])
  catchupTable('The same from four holders of which three (holders 2–4) are connected but serve nothing:', m.bystanders ?? [])
  catchupTable("The same from four holders of which three (holders 2–4) are the bare stack (Tandem's libp2p host with their keys, nothing else):", m.bare ?? [])
  const g = res.goals
  lines.push('', 'Goals (issue 20, goal 5), ratios within each run, then the median:')
  lines.push(g.p99.ratio === null
    ? '  p99 of one edit to four others ≤ 2 × two devices: not judged (needs --devices with 2 and 5)'
    : `  p99 of one edit to four others ≤ ${GOAL_P99_FACTOR} × two devices: ${fmt(g.p99.p99Five!, 2)} ms vs ${fmt(g.p99.p99Two!, 2)} ms, ${g.p99.ratio.toFixed(2)}× (runs: ${g.p99.ratios.map((x) => x.toFixed(2)).join(', ')}): ${verdict(g.p99.pass)}` +
      (g.p99.limit.ratio === null ? '' : `; the stack's gossip alone: ${fmt(g.p99.limit.p99Five!, 2)} ms vs ${fmt(g.p99.limit.p99Two!, 2)} ms, ${g.p99.limit.ratio.toFixed(2)}× (runs: ${g.p99.limit.ratios.map((x) => x.toFixed(2)).join(', ')})`) +
      (g.p99.streams.ratio === null ? '' : `; direct streams alone: ${fmt(g.p99.streams.p99Five!, 2)} ms vs ${fmt(g.p99.streams.p99Two!, 2)} ms, ${g.p99.streams.ratio.toFixed(2)}× (runs: ${g.p99.streams.ratios.map((x) => x.toFixed(2)).join(', ')})`))
  lines.push(g.catchup.ratio === null
    ? '  catch-up from four holders ≥ from one: not judged (needs --devices with 2 and 5 and the catchup phase)'
    : `  catch-up from four holders ≥ from one: ${fmt(g.catchup.fromFour!)} vs ${fmt(g.catchup.fromOne!)} docs/s, ${g.catchup.ratio.toFixed(2)}× (runs: ${g.catchup.ratios.map((x) => x.toFixed(2)).join(', ')}): ${verdict(g.catchup.pass)}` +
      `; ${g.catchup.faster ? 'faster' : 'not faster'}; ${fmt(g.catchup.servedByFour ?? 0)} of 4 holders served it, and it received ${g.catchup.bytesRatio?.toFixed(2) ?? '-'}× the bytes it did from one`)
  const pin = g.catchup.pinned
  if (pin.ratio !== null) {
    lines.push(`  the same with the fresh device and the holders each on one core: ${fmt(pin.fromFour!)} vs ${fmt(pin.fromOne!)} docs/s, ${pin.ratio.toFixed(2)}× (runs: ${pin.ratios.map((x) => x.toFixed(2)).join(', ')}) (beside the goal, not it)`)
  }
  const rel = g.catchup.relayed
  if (rel !== undefined && rel.ratio !== null) {
    lines.push(`  from one holder that did not write them against their author alone: ${fmt(rel.fromOther!)} vs ${fmt(rel.fromAuthor!)} docs/s, ${rel.ratio.toFixed(2)}× (runs: ${rel.ratios.map((x) => x.toFixed(2)).join(', ')}) (beside the goal, not it)`)
  }
  for (const [bys, what] of [[g.catchup.bystanders, 'serve nothing'], [g.catchup.bare, 'are the bare stack']] as const) {
    if (bys === undefined || bys.ratio === null) continue
    lines.push(`  from four holders of which three ${what} against one holder alone: ${fmt(bys.withBystanders!)} vs ${fmt(bys.fromOne!)} docs/s, ${bys.ratio.toFixed(2)}× (runs: ${bys.ratios.map((x) => x.toFixed(2)).join(', ')})` +
      (bys.fourRatio === null ? '' : `; four serving against that: ${bys.fourRatio.toFixed(2)}× (runs: ${bys.fourRatios.map((x) => x.toFixed(2)).join(', ')})`) + ' (beside the goal, not it)')
  }
  lines.push('', 'Bytes: what each device\'s TCP sockets carried (Noise + Yamux frames of every protocol), 1 kB = 10^3 B, 1 MB = 10^6 B. CPU: each device process\'s own (user + system).')
  lines.push(`All devices share this machine's ${machine.cpus} cores: "all ÷ cores" is the least wall time per edit the devices' CPU work allows here if it all ran in parallel;`)
  lines.push('a p50 near it means the machine, not the protocol\'s waits, sets the latency at that size. "served": a holder that sent at least a tenth of the block bytes.')
  return lines.join('\n')
}

// ---- main (when run, not when imported) ----

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const o = parseOptions(process.argv.slice(2))
  if ('help' in o) { console.log(USAGE); process.exit(0) }
  if ('error' in o) { console.error(`${o.error}\n${USAGE}`); process.exit(2) }
  const log = (s: string): void => { process.stderr.write(`${s}\n`) }
  const deadlineMin = o.quick ? 10 : 30 + Math.ceil(o.runs * (o.n / 100_000) * 25)
  const fail = (message: string): never => {
    console.error(`group benchmark aborted: ${message}`)
    cleanUpNow()
    process.exit(1)
  }
  process.on('SIGINT', () => { cleanUpNow(); process.exit(130) })
  setTimeout(() => fail(`the whole run took longer than ${deadlineMin} minutes`), deadlineMin * 60_000).unref()
  let res: Result
  try {
    res = await measure(o, log)
  } catch (err) {
    fail((err as Error).message)
  }
  cleanUpNow()
  if (o.json) {
    process.stdout.write(`${JSON.stringify(res!)}\n`)
  } else {
    console.log('')
    console.log(report(res!))
    mkdirSync(RESULTS, { recursive: true })
    const out = join(RESULTS, 'w6.json')
    writeFileSync(out, `${JSON.stringify(res!, null, 2)}\n`)
    writeFileSync(join(RESULTS, 'w6.md'), `\`\`\`\n${report(res!)}\n\`\`\`\n`)
    console.log(`results: ${out}`)
  }
  process.exit(0)
}
