/**
 * Local snapshots on a schedule (`tandem start --backup-dir DIR --backup-every HOURS
 * [--backup-keep N]`): every period a car of the whole store is written to DIR as
 * `tandem-<device>-<time>.car` (beside it first, renamed when whole), and only the newest `keep`
 * snapshots of this device are kept. The last one (time, file, size, or the error) is recorded in
 * the store's settings, so `sync status` shows it after a restart too. A snapshot that fails is
 * logged and tried again at the next period; one still running when the next is due is not doubled.
 */
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Database } from '../database.ts'
import { exportCar, type BackupContext } from './export.ts'

export interface LastSnapshot {
  at: number
  path: string | null
  bytes: number
  docs: number
  error?: string
}

export interface ScheduleOptions {
  dir: string
  everyMs: number
  keep: number
  log?: (msg: string) => void
}

const SETTING = 'backup.lastSnapshot'

export function lastSnapshot(db: Database): Promise<LastSnapshot | undefined> {
  return db.setting<LastSnapshot>(SETTING).get()
}

export class SnapshotSchedule {
  readonly #ctx: BackupContext
  readonly #o: ScheduleOptions
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = false

  constructor(ctx: BackupContext, options: ScheduleOptions) {
    this.#ctx = ctx
    this.#o = options
  }

  start(): void {
    this.#timer = setInterval(() => { void this.runOnce() }, this.#o.everyMs)
    this.#timer.unref?.()
  }

  /** One snapshot now (skipped while one runs), then rotation. */
  async runOnce(): Promise<void> {
    if (this.#running !== undefined || this.#stopped) return
    this.#running = this.#snapshot().finally(() => { this.#running = undefined })
    return this.#running
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) clearInterval(this.#timer)
    await this.#running
  }

  async #snapshot(): Promise<void> {
    const { db } = this.#ctx
    const prefix = `tandem-${db.deviceID.slice(-8)}-`
    const at = Date.now()
    const path = join(this.#o.dir, `${prefix}${new Date(at).toISOString().replace(/[:.]/g, '-')}.car`)
    let last: LastSnapshot
    try {
      await mkdir(this.#o.dir, { recursive: true, mode: 0o700 })
      const r = await exportCar(this.#ctx, path)
      last = { at, path, bytes: r.bytes, docs: r.collections.reduce((s, c) => s + c.docs, 0) }
      // Rotate: this device's snapshots sort by time in their names; keep the newest `keep`.
      const mine = (await readdir(this.#o.dir)).filter((f) => f.startsWith(prefix) && f.endsWith('.car')).sort()
      for (const old of mine.slice(0, Math.max(0, mine.length - this.#o.keep))) await rm(join(this.#o.dir, old), { force: true })
      this.#o.log?.(`backup snapshot written: ${path} (${r.bytes} bytes)`)
    } catch (err) {
      last = { at, path: null, bytes: 0, docs: 0, error: (err as Error).message }
      this.#o.log?.(`backup snapshot failed: ${(err as Error).message}`)
    }
    // The snapshot itself is done (or failed, and said so): a failure to record it is only logged.
    await db.setting<LastSnapshot>(SETTING).put(last).catch((err: unknown) => this.#o.log?.(`backup snapshot: could not record its outcome: ${(err as Error).message}`))
  }
}
