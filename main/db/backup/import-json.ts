/**
 * Imports a json backup (format.ts). A docID is the CID of a document's first block, which holds
 * its author's signature and a random nonce, so no other device can make a block with that CID:
 * a json import cannot bring documents back under their docIDs. It does this instead:
 *
 * - a document whose `_docID` is here already (in that collection) is left as it is: "already here";
 * - so is one this device imported before from a json file (the original docID → the new one is
 *   remembered in the `backup` namespace), so importing the same file twice changes nothing;
 * - every other document is created as a new document (a new docID, written by this device), with
 *   the file's fields.
 *
 * The whole file is read and checked first (JSON syntax with the position of an error, the header,
 * each collection's schema and versions, each document's fields under the collection's current
 * schema); nothing is written unless all of it is valid. Then the collections and versions are
 * created, and the documents in atomic batches of at most MAX_BATCH per collection. The file is
 * parsed whole (JSON.parse), so its size is bounded (MAX_JSON_BYTES); the car is the format for
 * large stores and full history.
 */
import { readFile } from 'node:fs/promises'
import { TandemError } from '../../../shared/errors.ts'
import type { CollectionSchema } from '../../../shared/types.ts'
import { MAX_BATCH } from '../database.ts'
import { validateFields } from '../validate.ts'
import { VersionSet } from '../versions.ts'
import type { BackupContext } from './export.ts'
import { checkCollection, JsonHeader, type BackupCollection } from './format.ts'
import { fileSize, summary, type ImportedCollection, type ImportResult } from './import-car.ts'

export const MAX_JSON_BYTES = 512 * 1024 * 1024

function bad(message: string): TandemError {
  return new TandemError('BACKUP_INVALID', message)
}

interface Plan {
  c: BackupCollection
  create: Array<{ from: string | undefined; fields: Record<string, unknown> }>
  already: number
}

export async function importJson(ctx: BackupContext, path: string, text?: string): Promise<ImportResult> {
  const { db } = ctx
  if (text === undefined) {
    const size = await fileSize(path)
    if (size > MAX_JSON_BYTES) throw new TandemError('INVALID_INPUT', `${path} is ${size} bytes; a json backup is read whole, and may be at most ${MAX_JSON_BYTES}. Use a car backup for large stores.`)
    text = await readFile(path, 'utf8')
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw bad(`The backup is not valid JSON: ${(err as Error).message}.`)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw bad('The backup is not a JSON object of collections.')
  const top = data as Record<string, unknown>
  const header = JsonHeader.safeParse(top._tandem)
  if (!header.success) throw bad(`The backup's "_tandem" header is missing or not valid (${header.error.issues[0]?.path.join('.') ?? ''}: ${header.error.issues[0]?.message ?? 'malformed'}).`)
  const ids = db.namespace<string>('backup')
  const plans: Plan[] = []
  for (const [i, h] of header.data.collections.entries()) {
    const c = checkCollection(h, `The backup's "_tandem".collections[${i}]`)
    const docs = top[c.name]
    if (docs === undefined) continue
    if (!Array.isArray(docs)) throw bad(`The backup's "${c.name}" is not an array of documents.`)
    // Documents are checked under the schema they will be created under here: this device's
    // current one when it has the collection, else the merge of the file's versions.
    let schema: CollectionSchema
    if (db.hasCollection(c.id)) {
      schema = (await db.getCollection(c.id)).schema
    } else {
      const local = await db.getCollection(c.name).catch(() => undefined)
      if (local !== undefined) throw new TandemError('DUPLICATE_COLLECTION', `This device has a collection "${c.name}" with a different schema than the backup's; nothing was imported.`, { collection: c.name })
      const first = c.versions.find((v) => v.parents.length === 0)
      if (first === undefined) throw bad(`The backup's "_tandem" lacks the first version of ${c.name}.`)
      const set = new VersionSet(first)
      for (const v of c.versions) if (v !== first && v.parents.every((p) => set.has(p))) set.add(v)
      schema = { name: c.name, fields: set.merged().fields }
    }
    const plan: Plan = { c, create: [], already: 0 }
    for (const [k, doc] of docs.entries()) {
      const at = `${c.name}[${k}]`
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad(`The backup's document ${at} is not a JSON object.`)
      const { _docID, ...fields } = doc as Record<string, unknown>
      if (_docID !== undefined && (typeof _docID !== 'string' || _docID.length === 0 || _docID.length > 256)) throw bad(`The backup's document ${at} has a _docID that is not a docID.`)
      for (const key of Object.keys(fields)) if (fields[key] === null) delete fields[key]
      try {
        validateFields(schema, fields, 'create')
      } catch (err) {
        throw bad(`The backup's document ${at}${_docID !== undefined ? ` (${_docID as string})` : ''} is not valid: ${(err as Error).message} [${(err as TandemError).code ?? 'INVALID_INPUT'}].`)
      }
      if (typeof _docID === 'string' && db.hasCollection(c.id)) {
        if (await here(ctx, c.name, _docID)) { plan.already++; continue }
        const mapped = await ids.get(`${c.id}!${_docID}`)
        if (mapped !== undefined && await here(ctx, c.name, mapped)) { plan.already++; continue }
      }
      plan.create.push({ from: _docID as string | undefined, fields })
    }
    plans.push(plan)
  }
  for (const key of Object.keys(top)) {
    if (key !== '_tandem' && !header.data.collections.some((c) => c.name === key)) throw bad(`The backup has documents of "${key}", whose schema its "_tandem" header does not carry.`)
  }
  // Everything checked: write.
  const tally: ImportedCollection[] = []
  let done = 0
  const total = plans.reduce((s, p) => s + p.create.length, 0)
  for (const p of plans) {
    if (!db.hasCollection(p.c.id)) await db.importCollection(p.c.id, p.c.sdl)
    await db.importVersions(p.c.versions)
    for (let i = 0; i < p.create.length; i += MAX_BATCH) {
      const part = p.create.slice(i, i + MAX_BATCH)
      const created = await db.createDocuments(p.c.id, part.map((d) => d.fields))
      for (const [k, d] of part.entries()) if (d.from !== undefined) await ids.put(`${p.c.id}!${d.from}`, created[k]!)
      done += part.length
      ctx.progress?.({ op: 'import', phase: 'apply', done, total, unit: 'docs' })
    }
    tally.push({ name: p.c.name, imported: p.create.length, already: p.already })
  }
  return { format: 'json', collections: tally, summary: summary(tally) }
}

async function here(ctx: BackupContext, collection: string, docID: string): Promise<boolean> {
  try {
    await ctx.db.getDocument(collection, docID)
    return true
  } catch {
    return false
  }
}
