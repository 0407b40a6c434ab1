/**
 * Schema versions of a collection (issue 17). A version is data, like a block: its ID is the CID of
 * its canonical description — the collection (root) ID, its parent versions, the name and the fields —
 * so two devices that make the same change from the same version get the same ID. The first version
 * is the collection's own schema and its ID is the collection ID (collectionIDOf), so collections and
 * blocks from before versions stay valid.
 *
 * The merge. The schema a device uses is a function of the *set* of versions it knows, like the
 * document CRDT. Each version but the first changes some fields against the merge of its ancestors
 * (adds, removes, loosens, sets a default). For every field name, the change that wins is the one of
 * the deepest version (depth = 1 + its deepest parent, so a later version on the same line always
 * beats an earlier one); between versions of equal depth, the lower version ID wins. A field no
 * version changed keeps its first shape. Concurrent versions that touch different fields therefore
 * both apply (A adds `rating`, B adds `isbn`: both); a removal against a concurrent change of the
 * same field is settled by the same rule (no values are lost: adding the field back shows them).
 * Ones that disagree on a field's type (A adds `rating: Int`, B adds `rating: String`) end with one
 * deterministic winner and a SchemaConflict naming it: the loser's values stay in the blocks and the records, and show as the
 * document's `conflicts` rather than as the field.
 *
 * When the set has more than one head, every device derives the same merge version (parents: the
 * heads, fields: the merge) and writes new blocks under it. It changes nothing in the merge, so a
 * set with or without it merges alike.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { z } from 'zod'
import { TandemError } from '../../shared/errors.ts'
import { SCALARS, type CollectionID, type CollectionSchema, type DeviceID, type FieldSchema, type SchemaConflict, type VersionID, type VersionInfo } from '../../shared/types.ts'
import { cidOf, isCIDString } from './cid.ts'
import { canBeCounter, canonicalField, collectionIDOf, literal } from './schema.ts'
import { checkDefault } from './validate.ts'

/** A version as stored (`versions` sublevel, key `collectionID!versionID`) and as sent to other devices. */
export interface SchemaVersion {
  id: VersionID
  collection: CollectionID
  parents: VersionID[]
  name: string
  fields: FieldSchema[]
  /** Who made it and when: display only, not part of the ID. Absent author: a merge version. */
  author?: DeviceID
  time: number
}

/** Versions of one collection a device keeps, and the most a peer may send of one. */
export const MAX_VERSIONS = 1024

const cidString = z.string().max(128).refine(isCIDString, 'not a CID')
// The IDs a version names, branded once they passed their pattern (as wire.ts does for messages).
const versionID = cidString.transform((s) => s as VersionID)
const collectionID = cidString.transform((s) => s as CollectionID)
/** Display only (who made a version), so not checked to be a peer ID: any short string. */
const authorID = z.string().max(128).transform((s) => s as DeviceID)
const fieldSchema = z.object({
  name: z.string().min(1).max(64).regex(/^[A-Za-z][A-Za-z0-9_]*$/),
  type: z.enum(SCALARS),
  list: z.boolean(),
  required: z.boolean(),
  itemRequired: z.boolean(),
  default: z.unknown().optional(),
  // A counter (schema.ts crdtOf): part of the version's ID, so it must travel with it.
  crdt: z.enum(['pncounter', 'pcounter']).optional(),
}).strict()
/** A version as it comes from another device: checked, then its ID recomputed (versionFromWire). */
export const WireVersion = z.object({
  id: versionID,
  collection: collectionID,
  parents: z.array(versionID).max(64),
  name: z.string().min(1).max(64),
  fields: z.array(fieldSchema).min(1).max(256),
  author: authorID.optional(),
  time: z.number().finite(),
}).strict()

/** The ID of a collection's first version: the collection's own ID (its schema is the collection's). */
export function firstVersionID(collection: CollectionID): VersionID {
  return collection as string as VersionID
}

/** The ID of a version: the collection ID for a first version, else the CID of its canonical description. */
export function versionIDOf(v: Pick<SchemaVersion, 'collection' | 'parents' | 'name' | 'fields'>): VersionID {
  const fields = sortFields(v.fields)
  if (v.parents.length === 0) return firstVersionID(collectionIDOf({ name: v.name, fields }))
  const parents = [...v.parents].sort()
  return cidOf(dagCbor.encode({ collection: v.collection, parents, name: v.name, fields: fields.map(canonicalField) })).toString() as VersionID
}

/** A version from the wire, checked: well-formed, its ID what its content hashes to, its defaults fitting. Throws BLOCK_INVALID. */
export function versionFromWire(input: unknown): SchemaVersion {
  const parsed = WireVersion.safeParse(input)
  if (!parsed.success) throw new TandemError('BLOCK_INVALID', `invalid schema version: ${parsed.error.issues[0]?.message ?? 'malformed'}`)
  const w = parsed.data
  const names = new Set(w.fields.map((f) => f.name))
  if (names.size !== w.fields.length) throw new TandemError('BLOCK_INVALID', 'invalid schema version: a field twice')
  if (new Set(w.parents).size !== w.parents.length) throw new TandemError('BLOCK_INVALID', 'invalid schema version: a parent twice')
  const fields = sortFields(w.fields.map((f): FieldSchema => {
    const out: FieldSchema = { name: f.name, type: f.type, list: f.list, required: f.required, itemRequired: f.itemRequired }
    if (f.crdt !== undefined) {
      if (!canBeCounter(f)) throw new TandemError('BLOCK_INVALID', `invalid schema version: the counter ${f.name} is not a single Int or Float`)
      out.crdt = f.crdt
    }
    if (f.default !== undefined && f.default !== null) {
      try { out.default = checkDefault(w.name, out, f.default) } catch { throw new TandemError('BLOCK_INVALID', `invalid schema version: the default of ${f.name} does not fit it`) }
    }
    return out
  }))
  const v: SchemaVersion = { id: w.id, collection: w.collection, parents: [...w.parents].sort(), name: w.name, fields, time: w.time }
  if (w.author !== undefined) v.author = w.author
  if (versionIDOf(v) !== v.id) throw new TandemError('BLOCK_INVALID', `invalid schema version: its content does not hash to ${v.id}`)
  if (v.parents.length === 0 && (v.id as string) !== v.collection) throw new TandemError('BLOCK_INVALID', 'invalid schema version: a first version must have the collection ID')
  return v
}

export function sortFields(fields: readonly FieldSchema[]): FieldSchema[] {
  return [...fields].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** The merged schema of a set of versions. */
export interface Merged {
  fields: FieldSchema[]
  conflicts: SchemaConflict[]
}

/** A field's shape, or null where the version has no such field. */
type State = FieldSchema | null

function sameState(a: State, b: State): boolean {
  if (a === null || b === null) return a === b
  return JSON.stringify(canonicalField(a)) === JSON.stringify(canonicalField(b))
}

/**
 * Same stored values fit both: the type and list-ness agree. A removal against a concurrent change
 * is no conflict: whichever wins, the values fit the field whenever it is there.
 */
function sameKind(a: State, b: State): boolean {
  if (a === null || b === null) return true
  return a.type === b.type && a.list === b.list
}

/**
 * The versions of one collection known here, closed under parents (a version whose parents are not
 * all here waits outside the set). Pure and in memory: the database stores the records.
 */
export class VersionSet {
  readonly collection: CollectionID
  readonly name: string
  readonly #versions = new Map<string, SchemaVersion>()
  readonly #schemas = new Map<string, CollectionSchema>()
  readonly #depth = new Map<string, number>()
  readonly #ancestors = new Map<string, Set<string>>()
  readonly #changes = new Map<string, Map<string, State>>()
  #merged: Merged | undefined

  constructor(root: SchemaVersion) {
    if (root.parents.length !== 0 || (root.id as string) !== root.collection) throw new Error('a version set starts at the collection’s first version')
    this.collection = root.collection
    this.name = root.name
    this.#versions.set(root.id, root)
    this.#depth.set(root.id, 0)
    this.#ancestors.set(root.id, new Set())
    this.#changes.set(root.id, new Map())
  }

  get root(): SchemaVersion {
    return this.#versions.get(this.collection)!
  }

  get size(): number {
    return this.#versions.size
  }

  has(id: string): boolean {
    return this.#versions.has(id)
  }

  get(id: string): SchemaVersion | undefined {
    return this.#versions.get(id)
  }

  ids(): string[] {
    return [...this.#versions.keys()]
  }

  /** Oldest first: by depth, then ID. */
  list(): SchemaVersion[] {
    return [...this.#versions.values()].sort((a, b) => this.#depth.get(a.id)! - this.#depth.get(b.id)! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  /** Versions no other version names as a parent, sorted by ID. */
  heads(): VersionID[] {
    const parents = new Set<string>()
    for (const v of this.#versions.values()) for (const p of v.parents) parents.add(p)
    return [...this.#versions.keys()].filter((id) => !parents.has(id)).sort() as VersionID[]
  }

  /**
   * Adds a version whose parents are all here. Refuses (BLOCK_INVALID) one of another collection, or
   * one that changes a field incompatibly against what its author knew. Returns false when known.
   */
  add(v: SchemaVersion): boolean {
    if (this.#versions.has(v.id)) return false
    if (v.collection !== this.collection || v.name !== this.name) throw new TandemError('BLOCK_INVALID', `schema version ${v.id} is not one of collection ${this.collection}`)
    if (v.parents.length === 0) throw new TandemError('BLOCK_INVALID', `schema version ${v.id} claims to be a first version of ${this.collection}`)
    const missing = v.parents.filter((p) => !this.#versions.has(p))
    if (missing.length > 0) throw new Error(`parents not here: ${missing.join(', ')}`)
    const anc = new Set<string>()
    for (const p of v.parents) { anc.add(p); for (const a of this.#ancestors.get(p)!) anc.add(a) }
    const base = this.#mergeOf(anc)
    const problem = incompatibility(this.name, base.fields, v.fields)
    if (problem !== undefined) throw new TandemError('BLOCK_INVALID', `schema version ${v.id}: ${problem}`)
    const changes = new Map<string, State>()
    const before = new Map(base.fields.map((f) => [f.name, f]))
    const after = new Map(v.fields.map((f) => [f.name, f]))
    for (const name of new Set([...before.keys(), ...after.keys()])) {
      const a = before.get(name) ?? null
      const b = after.get(name) ?? null
      if (!sameState(a, b)) changes.set(name, b)
    }
    this.#versions.set(v.id, v)
    this.#depth.set(v.id, 1 + Math.max(...v.parents.map((p) => this.#depth.get(p)!)))
    this.#ancestors.set(v.id, anc)
    this.#changes.set(v.id, changes)
    this.#merged = undefined
    return true
  }

  /** The merge of every version here. */
  merged(): Merged {
    return this.#merged ??= this.#mergeOf(new Set(this.#versions.keys()))
  }

  /** The schema of one version (what a block written under it is checked against). */
  schemaOf(id: string): CollectionSchema | undefined {
    let s = this.#schemas.get(id)
    if (s === undefined) {
      const v = this.#versions.get(id)
      if (v === undefined) return undefined
      // One object per version (versions never change): validation keeps its field index per schema
      // object, and a new one per block rebuilt it for every block received.
      this.#schemas.set(id, s = { name: v.name, fields: v.fields })
    }
    return s
  }

  /** What a version changed, in words (`added rating: Int`, `removed pages`, …). */
  describeChanges(id: string): string[] {
    const v = this.#versions.get(id)
    if (v === undefined) return []
    if (v.parents.length === 0) return ['created']
    const base = this.#mergeOf(this.#ancestors.get(id)!)
    const before = new Map(base.fields.map((f) => [f.name, f]))
    const out: string[] = []
    for (const [name, state] of this.#changes.get(id)!) {
      const old = before.get(name)
      if (state === null) out.push(`removed ${name}`)
      else if (old === undefined) out.push(`added ${fieldWords(state)}`)
      else out.push(`changed ${fieldWords(old)} → ${fieldWords(state)}`)
    }
    return out.length === 0 ? [v.parents.length > 1 ? `merged ${v.parents.length} concurrent versions` : 'no change'] : out
  }

  info(id: string): VersionInfo {
    const v = this.#versions.get(id)!
    const out: VersionInfo = { id: v.id, parents: v.parents, fields: v.fields, time: v.time, changes: this.describeChanges(id), merge: v.parents.length > 1 && v.author === undefined }
    if (v.author !== undefined) out.author = v.author
    return out
  }

  /** Every shape a field had in any version here (to refuse adding it back with another type). */
  shapesOf(name: string): FieldSchema[] {
    const out: FieldSchema[] = []
    for (const v of this.#versions.values()) { const f = v.fields.find((x) => x.name === name); if (f !== undefined) out.push(f) }
    return out
  }

  #mergeOf(set: Set<string>): Merged {
    const root = this.root
    const fields = new Map<string, State>(root.fields.map((f) => [f.name, f]))
    // Per field, the changes made to it by versions of the set: the deepest wins, then the lowest ID.
    const candidates = new Map<string, Array<{ id: string; state: State }>>()
    for (const id of set) {
      for (const [name, state] of this.#changes.get(id) ?? []) {
        let list = candidates.get(name)
        if (list === undefined) candidates.set(name, list = [])
        list.push({ id, state })
      }
    }
    const conflicts: SchemaConflict[] = []
    for (const [name, list] of candidates) {
      list.sort((a, b) => this.#depth.get(b.id)! - this.#depth.get(a.id)! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      const winner = list[0]!
      fields.set(name, winner.state)
      const anc = this.#ancestors.get(winner.id)!
      const losers = list.slice(1).filter((c) => !anc.has(c.id) && !sameKind(c.state, winner.state)).map((c) => c.id as VersionID)
      if (losers.length > 0) {
        const shape = winner.state === null ? 'removed' : fieldWords(winner.state)
        conflicts.push({
          field: name, winner: winner.id as VersionID, losers,
          message: `Concurrent versions disagree on ${this.name}.${name}: ${shape} (version ${short(winner.id)}) wins over ${list.slice(1).filter((c) => losers.includes(c.id as VersionID)).map((c) => `${c.state === null ? 'removed' : fieldWords(c.state)} (version ${short(c.id)})`).join(', ')}; values that do not fit are kept and shown as conflicts.`,
        })
      }
    }
    const out = [...fields.values()].filter((f): f is FieldSchema => f !== null)
    return { fields: sortFields(out), conflicts: conflicts.sort((a, b) => (a.field < b.field ? -1 : 1)) }
  }
}

/**
 * Why `next` may not follow `prev` (undefined when it may): a field's type or list-ness changed, an
 * optional field became required, list items became required, or a required field was added with no default.
 */
export function incompatibility(collection: string, prev: readonly FieldSchema[], next: readonly FieldSchema[]): string | undefined {
  const before = new Map(prev.map((f) => [f.name, f]))
  for (const f of next) {
    const old = before.get(f.name)
    if (old === undefined) {
      if (f.required && f.default === undefined) {
        return `the new field ${collection}.${f.name} is required but has no default, so the documents written before it would have no value; add @default(value: …) or make it optional`
      }
      continue
    }
    if (old.crdt !== f.crdt) {
      return `${collection}.${f.name} is ${fieldWords(old)} and cannot become ${fieldWords(f)}: a field is a counter from the start or never (its values mean different things); add a new field`
    }
    if (old.type !== f.type || old.list !== f.list) {
      return `${collection}.${f.name} is ${fieldWords(old)} and cannot become ${fieldWords(f)} (changing a field's type is not supported; renames neither): remove the field and add one with another name — the old values stay in the history`
    }
    if (!old.required && f.required) return `${collection}.${f.name} is optional and cannot become required: documents without a value may exist`
    if (old.list && !old.itemRequired && f.itemRequired) return `the items of ${collection}.${f.name} may be null and cannot become required: lists holding null may exist`
  }
  return undefined
}

export function fieldWords(f: FieldSchema): string {
  let t: string = f.type
  if (f.list) t = `[${t}${f.itemRequired ? '!' : ''}]`
  return `${f.name}: ${t}${f.required ? '!' : ''}${f.crdt !== undefined ? ` @crdt(type: ${f.crdt})` : ''}${f.default !== undefined ? ` = ${literal(f.default)}` : ''}`
}

function short(id: string): string {
  return id.slice(-8)
}
