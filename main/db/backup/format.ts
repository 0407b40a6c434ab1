/**
 * The backup formats (README, How the database works → Backups).
 *
 * **car** (`tandem-backup` version 1): a CARv1 archive (@ipld/car). Its one root is the manifest
 * block, written last; the first block is the schemas block; between them, every block of the
 * chosen collections, each document's blocks parents first. Every block is dag-cbor, CIDv1
 * sha2-256, so the file checks itself block by block.
 *
 *   schemas  { type: 'tandem-backup/schemas', version: 1,
 *              collections: [{ id, name, sdl (first version), versions (JSON text of every version) }] }
 *   manifest { type: 'tandem-backup', version: 1, created (ms), device: { id, name },
 *              schemas: CID link, collections: [{ id, name, docs, blocks }],
 *              authors: [{ id, name }], counts: { docs, blocks } }
 *
 * **json** (`tandem-backup-json` version 1), modelled on DefraDB's backup JSON (one key per
 * collection, an array of documents with `_docID`), plus a `_tandem` key first that carries the
 * schemas, so an import can create the collections:
 *
 *   { "_tandem": { "format": "tandem-backup-json", "version": 1, "created": …, "device": {…},
 *                  "collections": [{ "id", "name", "sdl", "versions": […] }] },
 *     "Books": [ { "_docID": "bae-…", "title": "Dune", "pages": 412 }, … ] }
 */
import { z } from 'zod'
import { TandemError } from '../../../shared/errors.ts'
import { versionFromWire, type SchemaVersion } from '../versions.ts'
import { parseSDL, collectionIDOf } from '../schema.ts'

export const CAR_FORMAT = 'tandem-backup'
export const SCHEMAS_TYPE = 'tandem-backup/schemas'
export const JSON_FORMAT = 'tandem-backup-json'
export const FORMAT_VERSION = 1

export interface BackupCollection {
  id: string
  name: string
  /** The collection's first version as SDL (its ID is the CID of this schema). */
  sdl: string
  versions: SchemaVersion[]
}

export interface ManifestCollection { id: string; name: string; docs: number; blocks: number }
export interface Author { id: string; name: string }

const Str = z.string().min(1).max(100_000)
const Count = z.number().int().min(0)

export const SchemasBlock = z.object({
  type: z.literal(SCHEMAS_TYPE),
  version: z.literal(FORMAT_VERSION),
  collections: z.array(z.object({ id: Str, name: Str, sdl: Str, versions: Str }).strict()).max(10_000),
}).strict()

export const ManifestShape = z.object({
  type: z.literal(CAR_FORMAT),
  version: z.literal(FORMAT_VERSION),
  created: z.number().int().min(0),
  device: z.object({ id: Str, name: z.string().max(256) }).strict(),
  schemas: z.unknown(),
  collections: z.array(z.object({ id: Str, name: Str, docs: Count, blocks: Count }).strict()).max(10_000),
  authors: z.array(z.object({ id: Str, name: z.string().max(256) }).strict()).max(100_000),
  counts: z.object({ docs: Count, blocks: Count }).strict(),
}).strict()
export type Manifest = z.infer<typeof ManifestShape>

export const JsonHeader = z.object({
  format: z.literal(JSON_FORMAT),
  version: z.literal(FORMAT_VERSION),
  created: z.number().int().min(0),
  device: z.object({ id: Str, name: z.string().max(256) }).strict(),
  collections: z.array(z.object({ id: Str, name: Str, sdl: Str, versions: z.array(z.unknown()).max(1024) }).strict()).max(10_000),
}).strict()

/**
 * Checks a collection as a backup carries it: its SDL defines exactly the collection `id`, and its
 * versions are valid versions of it (each hashes to its ID). `where` names the place for messages.
 */
export function checkCollection(input: { id: string; name: string; sdl: string; versions: unknown[] }, where: string): BackupCollection {
  let schemas
  try {
    schemas = parseSDL(input.sdl)
  } catch (err) {
    throw new TandemError('BACKUP_INVALID', `${where}: the schema of ${input.name} is not valid: ${(err as Error).message}`)
  }
  if (schemas.length !== 1 || schemas[0]!.name !== input.name || collectionIDOf(schemas[0]!) !== input.id) {
    throw new TandemError('BACKUP_INVALID', `${where}: the schema of ${input.name} does not define collection ${input.id}.`)
  }
  const versions: SchemaVersion[] = []
  for (const [i, w] of input.versions.entries()) {
    try {
      const v = versionFromWire(w)
      if (v.collection !== input.id) throw new Error(`it belongs to collection ${v.collection}`)
      versions.push(v)
    } catch (err) {
      throw new TandemError('BACKUP_INVALID', `${where}: schema version #${i} of ${input.name} is not valid: ${(err as Error).message}`)
    }
  }
  return { id: input.id, name: input.name, sdl: input.sdl, versions }
}

/** "2,000" */
export function n(x: number): string {
  return x.toLocaleString('en-US')
}
