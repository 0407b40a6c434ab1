/**
 * Writes a backup (format.ts) while reading the store: documents are read a page at a time from
 * LevelDB iterators (snapshots), and written as they are read, so the memory used does not grow
 * with the number of documents. The file is written beside its target and linked into place when
 * whole, so a failed or interrupted export leaves no half file under the name asked for; a file
 * already there is never replaced (the API can name any path on the node's machine).
 */
import { createWriteStream, type WriteStream } from 'node:fs'
import { access, link, open, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { finished } from 'node:stream/promises'
import * as dagCbor from '@ipld/dag-cbor'
import { CarWriter } from '@ipld/car/writer'
import { CID } from 'multiformats/cid'
import { TandemError } from '../../../shared/errors.ts'
import { decodeStoredBlock } from '../block.ts'
import { cidOf, compareCIDStrings } from '../cid.ts'
import { storeOf, type Database } from '../database.ts'
import { CAR_FORMAT, FORMAT_VERSION, JSON_FORMAT, SCHEMAS_TYPE, type Author, type ManifestCollection } from './format.ts'
import { WHOLE_SCAN } from '../store.ts'

export type BackupFormat = 'car' | 'json'

export interface BackupProgress {
  op: 'export' | 'import'
  /** export: write; import: check (the whole file, before anything is written), then apply. */
  phase: 'write' | 'check' | 'apply'
  done: number
  /** What `done` counts toward (documents, or bytes of the file for an import); 0 when not known. */
  total: number
  unit: 'docs' | 'bytes'
}

export interface BackupContext {
  db: Database
  deviceName: string
  /** A device's name as this device knows it (group), or '' when unknown. */
  nameOf: (deviceID: string) => string
  progress?: (p: BackupProgress) => void
}

export interface ExportResult {
  path: string
  format: BackupFormat
  bytes: number
  collections: ManifestCollection[]
  authors: Author[]
}

const DOC_PAGE = 256
const PROGRESS_EVERY = 1000

/** The collections to back up (all when none named); an unknown name is refused. */
async function chosen(db: Database, names: readonly string[] | undefined): Promise<Array<{ id: string; name: string; count: number }>> {
  const all = await db.listCollections()
  if (names === undefined || names.length === 0) return all.map((c) => ({ id: c.id, name: c.name, count: c.count }))
  const out = []
  for (const name of new Set(names)) {
    const c = await db.getCollection(name)
    out.push({ id: c.id as string, name: c.name, count: c.count })
  }
  return out
}

function tempBeside(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.part`
}

/** A backup never replaces a file: one already at `path` is refused before anything is written. */
async function refuseExisting(path: string): Promise<void> {
  const exists = await access(path).then(() => true, () => false)
  if (exists) throw new TandemError('INVALID_INPUT', `${path} exists already; a backup does not replace a file: choose another name, or remove it first.`)
}

/** Moves the finished temporary file to `path`, failing (EEXIST) rather than replacing a file that appeared meanwhile. */
async function place(tmp: string, path: string): Promise<void> {
  await link(tmp, path)
  await rm(tmp, { force: true })
}

function schemaOf(db: Database, c: { id: string; name: string }): { id: string; name: string; sdl: string; versions: unknown[] } {
  return { id: c.id, name: c.name, sdl: db.collectionSDL(c.id)!, versions: db.schemaVersions(c.id) }
}

/** A CARv1 with every block of the chosen collections (full history, signatures kept). */
export async function exportCar(ctx: BackupContext, path: string, names?: readonly string[]): Promise<ExportResult> {
  const { db } = ctx
  const cols = await chosen(db, names)
  const total = cols.reduce((s, c) => s + c.count, 0)
  await refuseExisting(path)
  const tmp = tempBeside(path)
  // The root is known only at the end (the manifest counts what was written): a placeholder of the
  // same length now, rewritten in place when the file is whole.
  const placeholder = cidOf(dagCbor.encode({ type: CAR_FORMAT, placeholder: true }))
  const { writer, out } = CarWriter.create([placeholder])
  const file = createWriteStream(tmp, { mode: 0o600 })
  const piped = Readable.from(out).pipe(file)
  const done = finished(piped)
  done.catch(() => {}) // awaited below; an early failure must not be unhandled meanwhile
  // A write that fails (no such folder, a full disk) ends the export: a put would wait forever
  // for a reader that stopped.
  const failed = new Promise<never>((_, reject) => { file.once('error', reject) })
  failed.catch(() => {})
  // Raced against `failed` a page at a time, not a block at a time: each race leaves a reaction on
  // `failed` (which never settles while all goes well), and a million of them held 1 GB.
  const putAll = (blocks: Array<{ cid: CID; bytes: Uint8Array }>): Promise<void> =>
    Promise.race([(async () => { for (const b of blocks) await writer.put(b) })(), failed])
  try {
    await Promise.race([new Promise<void>((resolve) => { file.once('open', () => resolve()) }), failed])
    const schemasBytes = dagCbor.encode({
      type: SCHEMAS_TYPE, version: FORMAT_VERSION,
      collections: cols.map((c) => {
        const s = schemaOf(db, c)
        return { id: s.id, name: s.name, sdl: s.sdl, versions: JSON.stringify(s.versions) }
      }),
    })
    const schemasCID = cidOf(schemasBytes)
    await putAll([{ cid: schemasCID, bytes: schemasBytes }])
    const store = storeOf(db)
    const authors = new Set<string>()
    const manifestCols: ManifestCollection[] = []
    let docsDone = 0
    let blocksDone = 0
    for (const c of cols) {
      const mc: ManifestCollection = { id: c.id, name: c.name, docs: 0, blocks: 0 }
      manifestCols.push(mc)
      let page: string[][] = []
      const flush = async (): Promise<void> => {
        // Each document's DAG, walked from its heads a level at a time (one multi-get per level).
        const docOf = new Map<string, number>()
        const blocks: Array<Array<{ cid: string; bytes: Uint8Array; height: number }>> = page.map(() => [])
        let frontier: string[] = []
        page.forEach((heads, i) => { for (const h of heads) if (!docOf.has(h)) { docOf.set(h, i); frontier.push(h) } })
        while (frontier.length > 0) {
          const got = await db.getBlocks(frontier)
          const next: string[] = []
          frontier.forEach((cid, k) => {
            const bytes = got[k]
            if (bytes === undefined) throw new TandemError('INTERNAL', `The store lacks block ${cid}, which a document links; run the export again after sync settles.`)
            const b = decodeStoredBlock(bytes)
            const i = docOf.get(cid)!
            blocks[i]!.push({ cid, bytes, height: b.height })
            authors.add(b.author)
            for (const p of b.parents) {
              const ps = p.toString()
              if (!docOf.has(ps)) { docOf.set(ps, i); next.push(ps) }
            }
          })
          frontier = next
        }
        const out: Array<{ cid: CID; bytes: Uint8Array }> = []
        for (const list of blocks) {
          list.sort((a, b) => a.height - b.height || compareCIDStrings(a.cid, b.cid)) // parents first
          for (const b of list) out.push({ cid: CID.parse(b.cid), bytes: b.bytes })
          mc.blocks += list.length
          blocksDone += list.length
        }
        await putAll(out)
        mc.docs += page.length
        const before = docsDone
        docsDone += page.length
        if (Math.floor(before / PROGRESS_EVERY) !== Math.floor(docsDone / PROGRESS_EVERY)) {
          ctx.progress?.({ op: 'export', phase: 'write', done: docsDone, total, unit: 'docs' })
        }
        page = []
      }
      for await (const [, rec] of store.docs.iterator({ gte: `${c.id}!`, lt: `${c.id}!\xff`, ...WHOLE_SCAN })) {
        page.push(rec.heads)
        if (page.length >= DOC_PAGE) await flush()
      }
      if (page.length > 0) await flush()
    }
    const authorList: Author[] = [...authors].sort().map((id) => ({ id, name: id === db.deviceID ? ctx.deviceName : ctx.nameOf(id) }))
    const manifestBytes = dagCbor.encode({
      type: CAR_FORMAT, version: FORMAT_VERSION, created: Date.now(),
      device: { id: db.deviceID, name: ctx.deviceName },
      schemas: schemasCID,
      collections: manifestCols,
      authors: authorList,
      counts: { docs: docsDone, blocks: blocksDone },
    })
    const manifestCID = cidOf(manifestBytes)
    await putAll([{ cid: manifestCID, bytes: manifestBytes }])
    await Promise.race([writer.close(), failed])
    await done
    const fh = await open(tmp, 'r+')
    try {
      await CarWriter.updateRootsInFile(fh, [manifestCID])
      await fh.sync()
    } finally {
      await fh.close()
    }
    const bytes = file.bytesWritten
    await place(tmp, path)
    ctx.progress?.({ op: 'export', phase: 'write', done: docsDone, total: docsDone, unit: 'docs' })
    return { path, format: 'car', bytes, collections: manifestCols, authors: authorList }
  } catch (err) {
    file.destroy()
    await rm(tmp, { force: true })
    throw writeError(err, path)
  }
}

function writeError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'EEXIST') return new TandemError('INVALID_INPUT', `${path} exists already; a backup does not replace a file.`)
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOSPC' || code === 'EROFS' || code === 'EXDEV' || code === 'EPERM') {
    return new TandemError('INVALID_INPUT', `Cannot write the backup to ${path}: ${(err as Error).message}`)
  }
  return err
}

/** Writes `text`, waiting while the stream's buffer is full. */
async function write(file: WriteStream, text: string): Promise<void> {
  if (!file.write(text)) await new Promise<void>((resolve, reject) => {
    const onErr = (e: Error): void => { file.off('drain', onDrain); reject(e) }
    const onDrain = (): void => { file.off('error', onErr); resolve() }
    file.once('drain', onDrain)
    file.once('error', onErr)
  })
}

/** The current documents per collection, as JSON (format.ts), one document per line. */
export async function exportJson(ctx: BackupContext, path: string, names?: readonly string[]): Promise<ExportResult> {
  const { db } = ctx
  const cols = await chosen(db, names)
  const total = cols.reduce((s, c) => s + c.count, 0)
  await refuseExisting(path)
  const tmp = tempBeside(path)
  const file = createWriteStream(tmp, { mode: 0o600 })
  const opened = new Promise<void>((resolve, reject) => { file.once('open', () => resolve()); file.once('error', reject) })
  try {
    await opened
    const header = {
      format: JSON_FORMAT, version: FORMAT_VERSION, created: Date.now(),
      device: { id: db.deviceID, name: ctx.deviceName },
      collections: cols.map((c) => schemaOf(db, c)),
    }
    await write(file, `{"_tandem": ${JSON.stringify(header)}`)
    const manifestCols: ManifestCollection[] = []
    let docsDone = 0
    for (const c of cols) {
      const mc: ManifestCollection = { id: c.id, name: c.name, docs: 0, blocks: 0 }
      manifestCols.push(mc)
      await write(file, `,\n${JSON.stringify(c.name)}: [`)
      for await (const d of db.currentDocuments(c.id)) {
        await write(file, `${mc.docs === 0 ? '\n' : ',\n'}  ${JSON.stringify({ _docID: d.docID, ...d.fields })}`)
        mc.docs++
        docsDone++
        if (docsDone % PROGRESS_EVERY === 0) ctx.progress?.({ op: 'export', phase: 'write', done: docsDone, total, unit: 'docs' })
      }
      await write(file, mc.docs === 0 ? ']' : '\n]')
    }
    await write(file, '\n}\n')
    file.end()
    await finished(file)
    await place(tmp, path)
    ctx.progress?.({ op: 'export', phase: 'write', done: docsDone, total: docsDone, unit: 'docs' })
    return { path, format: 'json', bytes: file.bytesWritten, collections: manifestCols, authors: [] }
  } catch (err) {
    file.destroy()
    await rm(tmp, { force: true })
    throw writeError(err, path)
  }
}
