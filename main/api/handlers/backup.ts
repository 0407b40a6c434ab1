import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ApiContext, Handlers } from '../context.ts'
import { TandemError } from '../../../shared/errors.ts'
import { TRANSFER_CHUNK } from '../../../shared/api/backup.ts'
import { exportCar, exportJson, importBackup, type BackupContext } from '../../db/backup/index.ts'
import type { TandemNode } from '../../node/tandem-node.ts'

/** What a backup needs of the node: its database, names from the group, progress as API events. */
export function backupContext(node: TandemNode, progress?: BackupContext['progress']): BackupContext {
  return {
    db: node.db,
    deviceName: node.group.name,
    nameOf: (id) => node.group.get(id)?.name ?? '',
    ...(progress !== undefined ? { progress } : {}),
  }
}

function withEvents(ctx: ApiContext): BackupContext {
  return backupContext(ctx.node, (p) => ctx.emit('backup:progress', p))
}

/**
 * Files the window downloads or uploads through the contract (the browser has no path on the
 * node's machine): kept in the data directory's `transfers` folder (private, like the store), and
 * deleted once read to the end, once imported, or TRANSFER_TTL after their last use.
 */
interface Transfer { path: string; kind: 'download' | 'upload'; bytes: number; received: number; timer: NodeJS.Timeout }
const transfers = new Map<string, Transfer>()
const TRANSFER_TTL = 15 * 60_000

function transferDir(node: TandemNode): string {
  return join(node.db.dir, 'transfers')
}

function touch(id: string, t: Transfer): void {
  clearTimeout(t.timer)
  t.timer = setTimeout(() => { void drop(id) }, TRANSFER_TTL)
  t.timer.unref?.()
}

async function drop(id: string): Promise<void> {
  const t = transfers.get(id)
  if (t === undefined) return
  transfers.delete(id)
  clearTimeout(t.timer)
  await rm(t.path, { force: true })
}

function transfer(id: string, kind: Transfer['kind']): Transfer {
  const t = transfers.get(id)
  if (t === undefined || t.kind !== kind) throw new TandemError('NOT_FOUND', `There is no backup ${kind} ${id} (finished, or unused for 15 minutes).`)
  touch(id, t)
  return t
}

const swept = new Set<string>()

async function newTransfer(node: TandemNode, kind: Transfer['kind'], ext: string): Promise<{ id: string; path: string }> {
  const dir = transferDir(node)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  if (!swept.has(dir)) {
    // Files left by a run that stopped mid-transfer: no transfer of this process names them.
    swept.add(dir)
    const live = new Set([...transfers.values()].map((t) => t.path))
    for (const f of await readdir(dir)) if (!live.has(join(dir, f))) await rm(join(dir, f), { force: true })
  }
  const id = randomBytes(16).toString('hex')
  return { id, path: join(dir, `${kind}-${id}.${ext}`) }
}

export const backup: Handlers<'backup.export' | 'backup.import' | 'backup.download' | 'backup.read' | 'backup.upload' | 'backup.write'> = {
  'backup.export': (ctx, { path, format, collections }) =>
    (format === 'json' ? exportJson : exportCar)(withEvents(ctx), path, collections),
  'backup.import': async (ctx, { path, upload, trustAuthors }) => {
    let file = path
    if (upload !== undefined) {
      const t = transfer(upload, 'upload')
      if (t.received !== t.bytes) throw new TandemError('INVALID_INPUT', `The upload is incomplete: ${t.received} of ${t.bytes} bytes arrived.`)
      file = t.path
    }
    try {
      return await importBackup(withEvents(ctx), file!, { trustAuthors: trustAuthors === true, isMember: (id) => ctx.node.group.has(id) })
    } finally {
      // An upload is imported once; a refused one (untrusted authors) is kept for the confirmation.
      if (upload !== undefined && trustAuthors === true) await drop(upload)
    }
  },
  'backup.download': async (ctx, { format, collections }) => {
    const fmt = format ?? 'car'
    const { id, path } = await newTransfer(ctx.node, 'download', fmt)
    const result = await (fmt === 'json' ? exportJson : exportCar)(withEvents(ctx), path, collections)
    const t: Transfer = { path, kind: 'download', bytes: result.bytes, received: 0, timer: setTimeout(() => {}, 0) }
    transfers.set(id, t)
    touch(id, t)
    const scope = collections !== undefined && collections.length > 0 ? collections.join('-') : 'all'
    const when = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')
    return { id, name: `tandem-${scope}-${when}.${fmt}`, bytes: result.bytes, result }
  },
  'backup.read': async (_ctx, { id, offset }) => {
    const t = transfer(id, 'download')
    if (offset > t.bytes) throw new TandemError('INVALID_INPUT', `The offset ${offset} is past the end (${t.bytes} bytes).`)
    const fh = await open(t.path, 'r')
    try {
      const buf = Buffer.alloc(Math.min(TRANSFER_CHUNK, t.bytes - offset))
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset)
      const eof = offset + bytesRead >= t.bytes
      if (eof) await drop(id)
      return { data: buf.subarray(0, bytesRead).toString('base64'), eof }
    } finally {
      await fh.close()
    }
  },
  'backup.upload': async (ctx, { bytes }) => {
    const { id, path } = await newTransfer(ctx.node, 'upload', 'bin')
    await (await open(path, 'wx', 0o600)).close()
    const t: Transfer = { path, kind: 'upload', bytes, received: 0, timer: setTimeout(() => {}, 0) }
    transfers.set(id, t)
    touch(id, t)
    return { id }
  },
  'backup.write': async (_ctx, { id, offset, data }) => {
    const t = transfer(id, 'upload')
    if (offset !== t.received) throw new TandemError('INVALID_INPUT', `Chunks go in order: expected offset ${t.received}, not ${offset}.`)
    const chunk = Buffer.from(data, 'base64')
    if (chunk.length > TRANSFER_CHUNK || t.received + chunk.length > t.bytes) throw new TandemError('INVALID_INPUT', 'The chunk is larger than announced.')
    const fh = await open(t.path, 'r+')
    try {
      await fh.write(chunk, 0, chunk.length, offset)
    } finally {
      await fh.close()
    }
    t.received += chunk.length
    if ((await stat(t.path)).size !== t.received) throw new TandemError('INTERNAL', 'The upload file does not have the bytes received.')
    return { received: t.received }
  },
}
