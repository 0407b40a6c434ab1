/**
 * CPU time of this process by thread, in three groups (Linux: /proc/self/task/<tid>/stat; elsewhere
 * `available` is false and every figure 0):
 *   main     the main thread: JavaScript, and what it does synchronously (encoding, hashing, GC pauses)
 *   helpers  the other threads named "node": V8's platform workers (parallel and concurrent garbage
 *            collection, compilation) and worker threads (Tandem's signature checks)
 *   io       the threads named "libuv-worker": LevelDB's reads and writes on libuv's thread pool, and
 *            LevelDB's background compaction, whose thread starts from one of them and keeps the name
 * Their sum over the wall time is how many of the machine's cores the run kept busy.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of /proc's times (USER_HZ: 100 on Linux x86-64 and arm64). */
const TICKS = 100

export interface ThreadCpu { main: number; helpers: number; io: number }
export type Snapshot = Map<number, { name: string; seconds: number }>

export const available = existsSync('/proc/self/task')

export function snapshot(): Snapshot {
  const out: Snapshot = new Map()
  if (!available) return out
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string
    try { stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1') } catch { continue } // the thread ended meanwhile
    const close = stat.lastIndexOf(')')
    const name = stat.slice(stat.indexOf('(') + 1, close)
    const fields = stat.slice(close + 2).split(' ') // from the third field, "state"
    out.set(Number(tid), { name, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS }) // utime + stime
  }
  return out
}

/** CPU seconds each group spent since `before` (threads that ended meanwhile are not counted). */
export function cpuSince(before: Snapshot): ThreadCpu {
  const cpu: ThreadCpu = { main: 0, helpers: 0, io: 0 }
  for (const [tid, { name, seconds }] of snapshot()) {
    const spent = seconds - (before.get(tid)?.seconds ?? 0)
    if (tid === process.pid) cpu.main += spent
    else if (name === 'libuv-worker') cpu.io += spent
    else cpu.helpers += spent
  }
  return cpu
}

/** The median of each group over runs, and of the cores they kept busy (their sum ÷ each run's wall time). */
export function cpuMedians(xs: Array<{ seconds: number; cpu: ThreadCpu }>, median: (v: number[]) => number): ThreadCpu & { total: number; cores: number } {
  return {
    main: median(xs.map((x) => x.cpu.main)),
    helpers: median(xs.map((x) => x.cpu.helpers)),
    io: median(xs.map((x) => x.cpu.io)),
    total: median(xs.map((x) => x.cpu.main + x.cpu.helpers + x.cpu.io)),
    cores: median(xs.map((x) => (x.cpu.main + x.cpu.helpers + x.cpu.io) / x.seconds)),
  }
}
