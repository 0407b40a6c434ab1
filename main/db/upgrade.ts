/**
 * Opening the store, and upgrading it in place when an older Tandem wrote it.
 *
 * The store format is the `storeFormat` key of `meta`, and a copy of it in `db/tandem-format.json`
 * (LevelDB rewrites its manifest and log on every open, so a directory from a newer Tandem is
 * recognised and refused by that file, before LevelDB touches anything). A directory in an older
 * format runs the steps of upgrades/index.ts from its format on, crash-safely:
 *
 *   1. With the store open (its lock keeps every other Tandem out), copy `db/` to `db.upgrade-backup/`:
 *      hard links for LevelDB's table files (*.ldb, *.sst: never changed once written), real copies
 *      of the rest (MANIFEST-*, CURRENT, *.log, LOG), each fsynced. LevelDB may be compacting in the
 *      background: a copy it changed under (names, sizes, inodes, times) is taken again once its
 *      files have stayed still for a moment.
 *   2. Write `db.upgrading.json` (the marker: from, to, when), fsynced: from now on the copy is whole.
 *   3. Run the steps on the open store; then write the new format (and the upgrade's record) as the
 *      last write, synced; then the format file.
 *   4. Remove the marker (the upgrade is done), then the copy.
 *
 * On open, a marker means an upgrade was interrupted (a crash, a SIGKILL, power lost): `db/` is
 * deleted, the copy renamed back to `db/`, the marker removed, and the upgrade runs again. A copy
 * without a marker is one that was never finished, or no longer needed: it is removed. Both happen
 * only when `db/` is not locked by a running Tandem. (Not covered: two Tandems started within the
 * same instant on a directory whose upgrade was interrupted, both restoring; Electron's
 * single-instance lock rules it out for the app.)
 */
import { chmod, copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { TandemError } from '../../shared/errors.ts'
import { FORMAT_KEY, LAST_UPGRADE_KEY, Store } from './store.ts'
import { formatAfter, UPGRADABLE_FROM, UPGRADES } from './upgrades/index.ts'
import type { UpgradeContext, UpgradeStep } from './upgrades/step.ts'

export type { UpgradeContext, UpgradeStep }

/** Where a step is, as the log and the progress callback see it. */
export interface UpgradeProgress {
  /** The whole upgrade: the directory's format and the one it is brought to. */
  from: number
  to: number
  /** The step running (1-based, of `steps`), and what it does. */
  step: { index: number; of: number; from: number; to: number; describe: string }
  done: number
  total: number
}

/** The last upgrade of a directory, kept in `meta` (shown by `node.info`). */
export interface LastUpgrade {
  from: number
  to: number
  /** When it finished (ms since the epoch). */
  at: number
  /** How long it took, the copy included (ms). */
  ms: number
  /** How long the copy took (ms). */
  backupMs: number
  steps: Array<{ from: number; to: number; describe: string; ms: number }>
}

export interface OpenStoreOptions {
  /**
   * For tests only: the upgrade steps instead of upgrades/index.ts, e.g. test steps 4→5→6 (a
   * store is then written in the last one's `to`). Never set by the node.
   */
  upgrades?: readonly UpgradeStep[]
  /** Lines for the node's log: an upgrade's start, its progress about once a second, its end. */
  log?: (msg: string) => void
  /** An upgrade's progress, as it goes: at each step's start (done and total 0), at most every 250 ms meanwhile, and at its end. */
  onProgress?: (p: UpgradeProgress) => void
}

/** The marker, the copy and the format file of the store at `path` (the `db` folder of a data directory). */
export function upgradePaths(path: string): { marker: string; backup: string; formatFile: string } {
  return { marker: `${path}.upgrading.json`, backup: `${path}.upgrade-backup`, formatFile: join(path, FORMAT_FILE) }
}
const FORMAT_FILE = 'tandem-format.json'
const PROGRESS_EVERY_MS = 1000
/** The progress callback (a window's progress bar) hears more often than the log. */
const CALLBACK_EVERY_MS = 250

/**
 * Opens the store at `path`: finishes an interrupted upgrade, marks a new store with the current
 * format, upgrades an older one, refuses a newer one (and the development formats 1–3).
 */
export async function openStore(path: string, options: OpenStoreOptions = {}): Promise<Store> {
  const steps = options.upgrades ?? UPGRADES
  const target = checkChain(steps)
  const log = options.log ?? (() => {})
  // A newer Tandem's directory is refused before anything here touches it, its copy included.
  const { backup } = upgradePaths(path)
  const peeked = Math.max(await readFormatFile(path) ?? 0, await readFormatFile(backup) ?? 0)
  if (peeked > target) throw newer(path, peeked, target)
  await settle(path, log)
  const store = await Store.open(path)
  try {
    const format = await store.meta.get(FORMAT_KEY)
    if (format === target) return store
    if (format === undefined && await isEmpty(store)) {
      await store.meta.put(FORMAT_KEY, target)
      await writeFormatFile(path, target)
      return store
    }
    // Format 1 kept no key.
    const found = format ?? 1
    if (typeof found !== 'number' || !Number.isInteger(found) || found < 1) {
      throw new TandemError('DATA_DIR_INVALID', `The data directory ${dirname(path)} has a store format Tandem does not know (${JSON.stringify(found)}).`)
    }
    if (found > target) throw newer(path, found, target)
    if (found < UPGRADABLE_FROM) {
      throw new TandemError('DATA_DIR_INVALID',
        `The data directory ${dirname(path)} was written by a development version of Tandem that was never released ` +
        `(store format ${found}); this Tandem upgrades store formats ${UPGRADABLE_FROM} and later. Move it aside to start afresh.`,
        { format: found, reads: target })
    }
    await upgrade(store, path, found, steps.slice(steps.findIndex((s) => s.from === found)), options, log)
    return store
  } catch (err) {
    await store.close()
    throw err
  }
}

/** The last upgrade of the store (none: null). */
export async function lastUpgrade(store: Store): Promise<LastUpgrade | null> {
  return ((await store.meta.get(LAST_UPGRADE_KEY)) as LastUpgrade | undefined) ?? null
}

function newer(path: string, found: number, target: number): TandemError {
  return new TandemError('DATA_DIR_INVALID',
    `The data directory ${dirname(path)} was written by a newer Tandem (store format ${found}); this Tandem reads ` +
    `store formats up to ${target}. Update Tandem to open it.`, { format: found, reads: target })
}

/** Checks that the steps form one chain from UPGRADABLE_FROM; returns the format it ends in. */
function checkChain(steps: readonly UpgradeStep[]): number {
  let at = UPGRADABLE_FROM
  for (const s of steps) {
    if (s.from !== at || s.to !== at + 1) throw new Error(`upgrade steps: "${s.describe}" goes ${s.from}→${s.to}, the chain is at ${at}`)
    at = s.to
  }
  return formatAfter(steps)
}

async function isEmpty(store: Store): Promise<boolean> {
  return (await store.docs.keys({ limit: 1 }).all()).length === 0 && (await store.blocks.keys({ limit: 1 }).all()).length === 0
}

async function upgrade(store: Store, path: string, from: number, chain: readonly UpgradeStep[], options: OpenStoreOptions, log: (msg: string) => void): Promise<void> {
  const to = chain.at(-1)!.to
  const { marker, backup } = upgradePaths(path)
  const started = performance.now()
  log(`Upgrading the data directory ${dirname(path)} from store format ${from} to ${to} (${chain.length} step${chain.length === 1 ? '' : 's'}); ` +
    `a copy of the database is kept in ${basename(backup)} until it is done.`)
  const { attempts } = await snapshot(path, backup)
  await writeDurably(marker, `${JSON.stringify({
    from, to, startedAt: new Date().toISOString(), backup: basename(backup),
    note: 'An upgrade of this data directory is under way, or was interrupted: Tandem restores the copy and upgrades again at its next start.',
  }, null, 2)}\n`)
  const backupMs = performance.now() - started
  log(`Copy made in ${seconds(backupMs)}${attempts > 1 ? ` (LevelDB was compacting: taken ${attempts} times)` : ''}.`)

  const done: LastUpgrade['steps'] = []
  for (const [i, step] of chain.entries()) {
    try {
      await runStep(store, step, { index: i + 1, of: chain.length, from: step.from, to: step.to, describe: step.describe }, { from, to }, options, log, done)
    } catch (err) {
      // Put the directory back as it was: the next start tries again, with a Tandem that may fix the step.
      await store.close()
      await restore(path)
      throw new TandemError('DATA_DIR_INVALID',
        `Upgrading the data directory ${dirname(path)} from store format ${from} to ${to} failed in step ${i + 1} ` +
        `(${step.describe}): ${(err as Error).message}. The directory is as it was before the upgrade.`, { format: from, reads: to })
    }
  }

  const record: LastUpgrade = { from, to, at: Date.now(), ms: Math.round(performance.now() - started), backupMs: Math.round(backupMs), steps: done }
  // The last write, synced: everything before it is on disk once it is (LevelDB syncs its tables).
  await store.db.batch([
    { type: 'put', sublevel: store.meta, key: LAST_UPGRADE_KEY, value: record as unknown },
    { type: 'put', sublevel: store.meta, key: FORMAT_KEY, value: to },
  ], { sync: true })
  await writeFormatFile(path, to)
  // The upgrade is done once the marker is gone; the copy is only in the way after that.
  await unlink(marker)
  await syncDir(dirname(path))
  await rm(backup, { recursive: true, force: true })
  log(`Upgraded the data directory from store format ${from} to ${to} in ${seconds(performance.now() - started)}; the copy is removed.`)
}

/** Runs one step on the open store, reporting its progress; appends what it took to `done`. */
async function runStep(store: Store, step: UpgradeStep, where: UpgradeProgress['step'], whole: { from: number; to: number },
  options: OpenStoreOptions, log: (msg: string) => void, done: LastUpgrade['steps']): Promise<void> {
  const started = performance.now()
  const name = `Store upgrade step ${where.index} of ${where.of}`
  log(`${name} (format ${step.from} → ${step.to}): ${step.describe}`)
  let last = -Infinity
  let lastCallback = -Infinity
  let held: UpgradeProgress | null = null
  // The latest progress the callback has not heard yet, sent when its interval is over: a step that
  // then waits (a long write) still shows where it is, not a value up to 250 ms old.
  let trailing: UpgradeProgress | null = null
  let trailTimer: NodeJS.Timeout | null = null
  const callback = (p: UpgradeProgress): void => {
    lastCallback = performance.now()
    trailing = null
    if (trailTimer !== null) { clearTimeout(trailTimer); trailTimer = null }
    options.onProgress?.(p)
  }
  const report = (p: UpgradeProgress): void => {
    last = performance.now()
    held = null
    callback(p)
    log(`${name}: ${p.done} of ${p.total}${p.total > 0 ? ` (${Math.floor((p.done / p.total) * 100)}%)` : ''}`)
  }
  options.onProgress?.({ ...whole, step: where, done: 0, total: 0 })
  await step.run({
    store,
    txn: () => store.txn(),
    batch: () => store.db.batch(),
    progress: (n, total) => {
      const p: UpgradeProgress = { ...whole, step: where, done: n, total }
      const now = performance.now()
      if (now - last >= PROGRESS_EVERY_MS) report(p)
      else {
        held = p
        if (now - lastCallback >= CALLBACK_EVERY_MS) callback(p)
        else {
          trailing = p
          trailTimer ??= setTimeout(() => { trailTimer = null; if (trailing !== null) callback(trailing) }, CALLBACK_EVERY_MS - (now - lastCallback))
        }
      }
    },
    log,
  })
  if (trailTimer !== null) clearTimeout(trailTimer)
  const unreported = held as UpgradeProgress | null
  if (unreported !== null) report(unreported)
  // The step may have written around Txn: what transactions remember of the store is stale.
  store.forget()
  const ms = performance.now() - started
  done.push({ from: step.from, to: step.to, describe: step.describe, ms: Math.round(ms) })
  log(`${name} done in ${seconds(ms)}.`)
}

/**
 * Before the store opens: a marker means an upgrade did not finish, so its copy goes back in place
 * of `db/`; a copy without a marker is left over and goes. Unless `db/` is locked: then another
 * Tandem has it open (maybe upgrading it) and nothing is touched.
 */
async function settle(path: string, log: (msg: string) => void): Promise<void> {
  const { marker, backup } = upgradePaths(path)
  const noted = await readFile(marker, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null
    throw err
  })
  const backupThere = await exists(backup)
  if (noted === null && !backupThere) return
  await checkUnlocked(path)
  if (noted === null) {
    await rm(backup, { recursive: true, force: true })
    return
  }
  let what = 'An upgrade'
  try {
    const m = JSON.parse(noted) as { from?: unknown; to?: unknown }
    what = `An upgrade from store format ${String(m.from)} to ${String(m.to)}`
  } catch { /* a marker cut short still marks */ }
  if (backupThere) log(`${what} of ${dirname(path)} did not finish: restoring the copy made before it, then upgrading again.`)
  await restore(path)
}

/**
 * Puts the copy back in place of the store at `path` (closed) and removes the marker. The marker is
 * written only once the copy is whole, and removed before the copy is: a marker without a copy
 * means the copy was renamed back already (a crash right after that), and only the marker is left.
 */
async function restore(path: string): Promise<void> {
  const { marker, backup } = upgradePaths(path)
  if (await exists(backup)) {
    await rm(path, { recursive: true, force: true })
    await rename(backup, path)
    await syncDir(dirname(path))
  }
  await unlink(marker)
  await syncDir(dirname(path))
}

/** Throws DATA_DIR_LOCKED when another process holds the store's LevelDB lock. */
async function checkUnlocked(path: string): Promise<void> {
  if (!(await exists(join(path, 'CURRENT')))) return
  const probe = new ClassicLevel(path, { createIfMissing: false })
  try {
    await probe.open()
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') {
      throw new TandemError('DATA_DIR_LOCKED', `The data directory is in use by another running Tandem node (${path}).`)
    }
    return // a store cut short by a crash: it is about to be replaced
  }
  await probe.close()
}

/**
 * Copies the LevelDB directory `src` to `dst` (which it replaces), as it is at one moment: see the
 * top of this file (exported for its test). LevelDB compacts in the background after it opens (a store of 100k documents
 * for a second or two); a copy it changed under is taken again once its files have stayed still
 * for a moment, so the copy is made about once.
 */
export async function snapshot(src: string, dst: string, giveUpMs = SNAPSHOT_GIVE_UP_MS): Promise<{ attempts: number }> {
  let attempts = 1
  const deadline = performance.now() + giveUpMs
  let before = await listing(src)
  for (;;) {
    await rm(dst, { recursive: true, force: true })
    await mkdir(dst, { mode: 0o700 })
    let whole = true
    try {
      for (const name of before.keys()) {
        const from = join(src, name)
        const to = join(dst, name)
        if (/\.(ldb|sst)$/.test(name)) await linkOrCopy(from, to)
        else await copyFile(from, to)
        await syncFile(to)
      }
    } catch (err) {
      // LevelDB deleted a file (a compaction finished) while it was being copied.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      whole = false
    }
    const after = await listing(src)
    if (whole && sameListing(before, after)) break
    before = await stillListing(src, after, deadline)
    attempts++
  }
  await chmod(dst, 0o700)
  await syncDir(dst)
  await syncDir(dirname(dst))
  return { attempts }
}

const SNAPSHOT_GIVE_UP_MS = 5 * 60_000
const STILL_MS = 50

/** The listing of `dir` once it has not changed for STILL_MS (starting from `last`). */
async function stillListing(dir: string, last: Map<string, Entry>, deadline: number): Promise<Map<string, Entry>> {
  for (;;) {
    if (performance.now() > deadline) {
      throw new TandemError('DATA_DIR_INVALID', `The database at ${dir} kept changing while it was being copied; the upgrade did not start.`)
    }
    await new Promise((r) => setTimeout(r, STILL_MS))
    const now = await listing(dir)
    if (sameListing(last, now)) return now
    last = now
  }
}

interface Entry { size: number; ino: number; mtimeMs: number }

async function listing(dir: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>()
  for (const name of (await readdir(dir)).sort()) {
    if (name === 'LOCK') continue // LevelDB's lock, made by whoever opens the copy
    try {
      const s = await stat(join(dir, name))
      if (s.isFile()) out.set(name, { size: s.size, ino: s.ino, mtimeMs: s.mtimeMs })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  return out
}

function sameListing(a: Map<string, Entry>, b: Map<string, Entry>): boolean {
  if (a.size !== b.size) return false
  for (const [name, e] of a) {
    const f = b.get(name)
    if (f === undefined || f.size !== e.size || f.ino !== e.ino || f.mtimeMs !== e.mtimeMs) return false
  }
  return true
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw err
    await copyFile(from, to) // a file system without hard links
  }
}

/** The format in the format file of the LevelDB directory `dir` (the store or its copy). */
async function readFormatFile(dir: string): Promise<number | undefined> {
  try {
    const v = (JSON.parse(await readFile(join(dir, FORMAT_FILE), 'utf8')) as { storeFormat?: unknown }).storeFormat
    return typeof v === 'number' ? v : undefined
  } catch {
    return undefined // none (a directory of format 4 or older), or unreadable: the key in `meta` decides
  }
}

async function writeFormatFile(path: string, format: number): Promise<void> {
  await writeDurably(upgradePaths(path).formatFile, `${JSON.stringify({ storeFormat: format })}\n`)
}

/** Writes a file whole or not at all (a temporary file, fsynced, renamed over it), mode 0600. */
async function writeDurably(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(text)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, file)
  await syncDir(dirname(file))
}

async function syncFile(file: string): Promise<void> {
  const fh = await open(file, 'r+')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** fsyncs a directory, so the names made in it survive a power cut (not possible on Windows, and not needed there). */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}
