/**
 * Restores a car backup (format.ts) in two passes over the file, so nothing is held whole in memory:
 *
 * 1. **Check** the whole file, writing nothing: the CAR framing (a truncated or garbled file is
 *    named with the byte offset), the schemas block and the manifest (the root), and every block as
 *    if it came from the network (canonical dag-cbor, bytes that hash to its CID, the signature, a
 *    collection and schema version the file carries, fields valid under that version), each parent
 *    in the file before it or already here, the counts the manifest gives, and the authors: a block
 *    by a device not in this group is refused (naming it) unless the person trusts the manifest's
 *    authors (`--trust-authors`), and then only authors the manifest names.
 * 2. **Apply** as a merge through the database's own received-block path (`prepareBlocks`, which
 *    checks again, then `applyPrepared`, the next batch checked while the previous one commits): the collections and schema versions first, then the blocks in batches of
 *    APPLY_BATCH, each batch one atomic commit, parents before children. Blocks already here are
 *    duplicates and change nothing, so importing twice changes nothing. Once the check passed an
 *    apply fails only on a storage fault; what committed then is whole documents' history, and
 *    importing the file again completes it.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import * as dagCbor from '@ipld/dag-cbor'
import { asyncIterableReader, readBlockHead, readHeader } from '@ipld/car/decoder'
import type { CID } from 'multiformats/cid'
import { TandemError } from '../../../shared/errors.ts'
import { blockDocID, blockLinks, DELETED_FIELD, MAX_BLOCK_BYTES, verifyBlocks } from '../block.ts'
import { cidOf } from '../cid.ts'
import { validateFields } from '../validate.ts'
import { VersionSet } from '../versions.ts'
import type { BackupContext } from './export.ts'
import { checkCollection, ManifestShape, n, SchemasBlock, type BackupCollection, type Manifest } from './format.ts'

export interface ImportOptions {
  /** Trust the authors the manifest names for this file's blocks (they are not made members). */
  trustAuthors?: boolean
  /** Is this device a member of the group (its blocks are trusted)? */
  isMember: (deviceID: string) => boolean
}

export interface ImportedCollection { name: string; imported: number; already: number }
export interface ImportResult {
  format: 'car' | 'json'
  collections: ImportedCollection[]
  /** Blocks applied / already here (car). */
  blocks?: { applied: number; already: number }
  /** Authors trusted for this file only (car with --trust-authors). */
  trustedAuthors?: Array<{ id: string; name: string }>
  summary: string
}

/** Authors trusted by an import (--trust-authors) → the name the backup gave them. */
export const AUTHORS_NAMESPACE = 'backup-authors'

/** The name a backup gave a device trusted by an import, when one did. */
export async function importedAuthorName(db: BackupContext['db'], id: string): Promise<string | undefined> {
  return (await db.namespace<{ name: string }>(AUTHORS_NAMESPACE).get(id))?.name
}

const CHECK_BATCH = 1024
const APPLY_BATCH = 2048

interface Section { index: number; offset: number; cid: CID; bytes: Uint8Array }

function bad(message: string): TandemError {
  return new TandemError('BACKUP_INVALID', message)
}

/** Opens a backup file for reading; a missing one is NOT_FOUND, a directory or unreadable one INVALID_INPUT. */
export async function fileSize(path: string): Promise<number> {
  try {
    const s = await stat(path)
    if (!s.isFile()) throw new TandemError('INVALID_INPUT', `${path} is not a file.`)
    return s.size
  } catch (err) {
    if (err instanceof TandemError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new TandemError('NOT_FOUND', `There is no backup file at ${path}.`)
    throw new TandemError('INVALID_INPUT', `Cannot read ${path}: ${(err as Error).message}`)
  }
}

/** The CAR's root and its sections with their byte offsets; framing errors name the offset. */
async function openCar(path: string): Promise<{ roots: CID[]; sections: AsyncGenerator<Section>; close: () => void }> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 })
  const reader = asyncIterableReader(stream)
  let roots: CID[]
  try {
    const header = await readHeader(reader)
    if (header.version !== 1) throw new Error(`CAR version ${header.version as number}, not 1`)
    roots = header.roots as CID[]
  } catch (err) {
    stream.destroy()
    throw bad(`Not a Tandem backup: the CAR header at byte 0 is not valid (${(err as Error).message}).`)
  }
  async function* sections(): AsyncGenerator<Section> {
    for (let index = 0; ; index++) {
      const offset = reader.pos
      let bytes: Uint8Array
      let cid: CID
      try {
        if ((await reader.upTo(8)).length === 0) return
        const head = await readBlockHead(reader)
        if (head.blockLength > MAX_BLOCK_BYTES) throw new Error(`a block of ${head.blockLength} bytes (at most ${MAX_BLOCK_BYTES})`)
        cid = head.cid as CID
        // A copy: the reader's view into its 1 MiB buffer would keep that whole buffer alive as
        // long as the block is referenced.
        bytes = (await reader.exactly(head.blockLength, true)).slice()
      } catch (err) {
        const msg = (err as Error).message
        throw bad(/unexpected end/i.test(msg)
          ? `The backup is truncated: it ends inside block #${index} (which starts at byte offset ${offset}).`
          : `The backup is damaged at block #${index} (byte offset ${offset}): ${msg}.`)
      }
      yield { index, offset, cid, bytes }
    }
  }
  return { roots, sections: sections(), close: () => stream.destroy() }
}

/** A block of the backup's own (schemas, manifest): its CID matches its bytes, which are canonical dag-cbor. */
function ownBlock(s: Section, what: string): unknown {
  const at = `the ${what} (block #${s.index}, byte offset ${s.offset})`
  if (!cidOf(s.bytes).equals(s.cid)) throw bad(`The backup is damaged: the bytes of ${at} do not match its CID ${String(s.cid)}.`)
  let value: unknown
  try {
    value = dagCbor.decode(s.bytes)
  } catch (err) {
    throw bad(`The backup is damaged: ${at} is not dag-cbor (${(err as Error).message}).`)
  }
  return value
}

interface Checked {
  manifest: Manifest
  collections: BackupCollection[]
  trusted: Set<string>
}

/** Pass 1: checks the whole file and writes nothing. */
async function check(ctx: BackupContext, path: string, size: number, options: ImportOptions): Promise<Checked> {
  const { db } = ctx
  const car = await openCar(path)
  try {
    return await checkOpen(ctx, car.roots, car.sections, size, options)
  } finally {
    car.close()
  }
}

async function checkOpen(ctx: BackupContext, roots: CID[], sections: AsyncGenerator<Section>, size: number, options: ImportOptions): Promise<Checked> {
  const { db } = ctx
  if (roots.length !== 1) throw bad(`Not a Tandem backup: its CAR header names ${roots.length} roots, not the one manifest.`)
  const root = roots[0]!
  let collections: BackupCollection[] | undefined
  let schemasCID: CID | undefined
  const byID = new Map<string, { c: BackupCollection; set: VersionSet }>()
  let manifest: Manifest | undefined
  let manifestAt = ''
  // The file holds each document's blocks together, parents first: a parent is one of the same
  // document's blocks before it, or already here. Only the current document's CIDs are kept, so
  // memory does not grow with the file.
  let currentDoc = ''
  const seen = new Set<string>()
  let outside = new Map<string, string>() // parents neither earlier in their document nor checked yet → where
  const authors = new Map<string, string>() // author → the first block by it
  let blocks = 0
  let batch: Section[] = []

  const flush = async (): Promise<void> => {
    const verified = await verifyBlocks(batch.map((s) => ({ bytes: s.bytes, expected: s.cid.toString() })))
    verified.forEach((v, k) => {
      const s = batch[k]!
      const at = `block #${s.index} (byte offset ${s.offset}, ${s.cid.toString()})`
      if (v instanceof TandemError) throw bad(`The backup is damaged at ${at}: ${v.message} [${v.code}].`)
      const { block } = v
      const col = byID.get(block.collection)
      if (col === undefined) throw bad(`The backup is not consistent at ${at}: the block is of collection ${block.collection}, which the file does not carry.`)
      const schema = col.set.schemaOf(block.schema)
      if (schema === undefined) throw bad(`The backup is not consistent at ${at}: schema version ${block.schema} is not in the file.`)
      const { [DELETED_FIELD]: del, ...fields } = block.fields
      const genesis = block.parents.length === 0
      try {
        if (genesis && del !== undefined) throw new Error('a genesis block cannot delete')
        if (!genesis && del === undefined && Object.keys(fields).length === 0) throw new Error('it changes nothing')
        if (genesis || Object.keys(fields).length > 0) validateFields(schema, fields, genesis ? 'create' : 'update')
      } catch (err) {
        throw bad(`The backup has an invalid block at ${at}: ${(err as Error).message}.`)
      }
      const id = s.cid.toString()
      const doc = blockDocID(block, id)
      if (doc !== currentDoc) { currentDoc = doc; seen.clear() }
      for (const p of block.parents) {
        const ps = p.toString()
        if (!seen.has(ps) && !outside.has(ps)) outside.set(ps, at)
      }
      seen.add(id)
      if (!authors.has(block.author)) authors.set(block.author, at)
    })
    blocks += batch.length
    if (outside.size > 0) {
      const part = [...outside.keys()]
      const here = await db.hasBlocks(part)
      const absent = part.findIndex((_, k) => !here[k])
      if (absent >= 0) throw bad(`The backup is incomplete: ${outside.get(part[absent]!)} links ${part[absent]}, which is neither before it in the file (with its document's blocks) nor on this device.`)
      outside = new Map()
    }
    const last = batch[batch.length - 1]!
    ctx.progress?.({ op: 'import', phase: 'check', done: last.offset + last.bytes.length, total: size, unit: 'bytes' })
    batch = []
  }

  for await (const s of sections) {
    if (s.index === 0) {
      const parsed = SchemasBlock.safeParse(ownBlock(s, 'schemas block'))
      if (!parsed.success) throw bad(`Not a Tandem backup: block #0 (byte offset ${s.offset}) is not its schemas block (${parsed.error.issues[0]?.message ?? 'malformed'}).`)
      collections = parsed.data.collections.map((c, i) => {
        let versions: unknown
        try { versions = JSON.parse(c.versions) } catch { versions = null }
        if (!Array.isArray(versions)) throw bad(`The backup's schemas block (block #0) has unreadable versions for collection #${i}.`)
        return checkCollection({ ...c, versions }, 'The backup\'s schemas block (block #0)')
      })
      for (const c of collections) {
        const first = c.versions.find((v) => v.parents.length === 0 && (v.id as string) === c.id)
        if (first === undefined) throw bad(`The backup's schemas block (block #0) lacks the first version of ${c.name}.`)
        const set = new VersionSet(first)
        let todo = c.versions.filter((v) => v !== first)
        for (let progress = true; progress && todo.length > 0;) {
          progress = false
          todo = todo.filter((v) => {
            if (!v.parents.every((p) => set.has(p))) return true
            set.add(v)
            progress = true
            return false
          })
        }
        if (todo.length > 0) throw bad(`The backup's schemas block (block #0) has versions of ${c.name} whose parents it lacks.`)
        byID.set(c.id, { c, set })
      }
      schemasCID = s.cid
      continue
    }
    if (s.cid.equals(root)) {
      const parsed = ManifestShape.safeParse(ownBlock(s, 'manifest'))
      if (!parsed.success) throw bad(`Not a Tandem backup: its manifest (block #${s.index}, byte offset ${s.offset}) is not valid (${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? 'malformed'}).`)
      manifest = parsed.data
      manifestAt = `block #${s.index}, byte offset ${s.offset}`
      continue
    }
    if (manifest !== undefined) throw bad(`The backup has block #${s.index} (byte offset ${s.offset}) after its manifest.`)
    batch.push(s)
    if (batch.length >= CHECK_BATCH) await flush()
  }
  if (batch.length > 0) await flush()
  if (collections === undefined) throw bad('The backup is empty: it has no blocks after the CAR header.')
  if (manifest === undefined) throw bad(`The backup is truncated: it ends after block #${blocks} (byte offset ${size}) without its manifest ${root.toString()}.`)
  const linked = manifest.schemas as CID | undefined
  if (linked?.equals === undefined || !linked.equals(schemasCID)) throw bad(`The backup's manifest (${manifestAt}) does not link its schemas block.`)
  if (manifest.counts.blocks !== blocks) throw bad(`The backup is incomplete: its manifest (${manifestAt}) counts ${manifest.counts.blocks} blocks; the file has ${blocks}.`)
  // A different collection of the same name here cannot take these documents.
  for (const c of collections) {
    if (db.hasCollection(c.id)) continue
    const local = await db.getCollection(c.name).catch(() => undefined)
    if (local !== undefined) throw new TandemError('DUPLICATE_COLLECTION', `This device has a collection "${c.name}" with a different schema than the backup's; nothing was imported.`, { collection: c.name })
  }
  // Authors: this group's devices are trusted; others only when the person trusts the manifest.
  const strangers = [...authors.keys()].filter((a) => !options.isMember(a))
  const named = new Map(manifest.authors.map((a) => [a.id, a.name]))
  const who = (a: string): string => `${named.get(a) || ctx.nameOf(a) || 'unnamed device'} (${a})`
  if (strangers.length > 0 && options.trustAuthors !== true) {
    throw new TandemError('UNTRUSTED_AUTHOR',
      `The backup has changes by ${strangers.length === 1 ? 'a device' : 'devices'} not in this group: ${strangers.map(who).join(', ')}. If this is your own backup, import it with --trust-authors; nothing was imported.`,
      { authors: strangers })
  }
  const unlisted = strangers.filter((a) => !named.has(a))
  if (unlisted.length > 0) throw bad(`The backup has changes by ${unlisted.map((a) => `${a} (first at ${authors.get(a)})`).join(', ')}, whom its manifest does not name as authors.`)
  return { manifest, collections, trusted: new Set(strangers) }
}

/** Checks the whole file, then merges it into the store (see the top of this file). */
export async function importCar(ctx: BackupContext, path: string, options: ImportOptions): Promise<ImportResult> {
  const { db } = ctx
  const size = await fileSize(path)
  const { manifest, collections, trusted } = await check(ctx, path, size, options)
  // Pass 2: collections and versions, then the blocks.
  for (const c of collections) {
    if (!db.hasCollection(c.id) || db.isPartial(c.id)) await db.importCollection(c.id, c.sdl)
    await db.importVersions(c.versions)
  }
  const tally = new Map<string, ImportedCollection>(collections.map((c) => [c.id, { name: c.name, imported: 0, already: 0 }]))
  const blocks = { applied: 0, already: 0 }
  const { roots, sections, close } = await openCar(path)
  const root = roots[0]!
  let batch: Section[] = []
  // As the sync receiver does: the next batch is checked (prepareBlocks, no lock) while the
  // previous one commits (applyPrepared), in order.
  let committing: Promise<void> = Promise.resolve()
  const tallyBatch = (part: Section[], results: Awaited<ReturnType<typeof db.applyPrepared>>): void => {
    results.forEach((r, k) => {
      const s = part[k]!
      if (r.status === 'rejected' || r.status === 'pending') {
        throw new TandemError('INTERNAL', `Block #${s.index} (byte offset ${s.offset}) was ${r.status} on apply${r.reason !== undefined ? `: ${r.reason}` : ''}; the blocks before it are imported, importing the file again completes it.`)
      }
      const links = blockLinks(s.bytes)
      if (r.status === 'applied') blocks.applied++
      else blocks.already++
      if (links.parents.length === 0) {
        const t = tally.get(links.collection)!
        if (r.status === 'applied') t.imported++
        else t.already++
      }
    })
    const last = part[part.length - 1]!
    ctx.progress?.({ op: 'import', phase: 'apply', done: last.offset + last.bytes.length, total: size, unit: 'bytes' })
  }
  const flush = async (): Promise<void> => {
    const part = batch
    batch = []
    const prepared = await db.prepareBlocks(part.map((s) => ({ bytes: s.bytes, cid: s.cid.toString() })), { trustedAuthors: trusted })
    await committing
    committing = db.applyPrepared(prepared).then((results) => tallyBatch(part, results))
    committing.catch(() => {}) // awaited below
  }
  try {
    for await (const s of sections) {
      if (s.index === 0 || s.cid.equals(root)) continue
      batch.push(s)
      if (batch.length >= APPLY_BATCH) await flush()
    }
    if (batch.length > 0) await flush()
    await committing
  } finally {
    close()
  }
  const result: ImportResult = { format: 'car', collections: [...tally.values()], blocks, summary: summary([...tally.values()]) }
  if (trusted.size > 0) {
    result.trustedAuthors = manifest.authors.filter((a) => trusted.has(a.id))
    // Their names, for the history of what they wrote (they are no devices of the group).
    const names = db.namespace<{ name: string }>(AUTHORS_NAMESPACE)
    for (const a of result.trustedAuthors) if ((await names.get(a.id))?.name !== a.name) await names.put(a.id, { name: a.name })
  }
  return result
}

/** "Imported 2,000 documents into Books; 12 already here. …" */
export function summary(cols: readonly ImportedCollection[]): string {
  if (cols.length === 0) return 'The backup holds no collections; nothing to import.'
  return cols.map((c) => `Imported ${n(c.imported)} document${c.imported === 1 ? '' : 's'} into ${c.name}; ${n(c.already)} already here.`).join(' ')
}
