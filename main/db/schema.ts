/**
 * Collections are defined in GraphQL SDL: `type Books { title: String! pages: Int tags: [String] }`.
 * This module turns SDL into canonical schemas and gives each its collection ID.
 */
import { GraphQLError, Kind, parse, valueFromASTUntyped, type FieldDefinitionNode, type TypeNode } from 'graphql'
import * as dagCbor from '@ipld/dag-cbor'
import { TandemError } from '../../shared/errors.ts'
import { SCALARS, type CollectionID, type CollectionSchema, type CounterKind, type FieldSchema, type Scalar } from '../../shared/types.ts'
import { cidOf } from './cid.ts'
import { checkDefault } from './validate.ts'

/** Names the database keeps for itself (`_docID`, `_deleted`, …). */
const RESERVED_PREFIX = '_'
// Long enough for any real name, short enough to keep keys and topics small.
const MAX_NAME_LENGTH = 64
const MAX_FIELDS = 256

export function parseSDL(sdl: string): CollectionSchema[] {
  if (typeof sdl !== 'string' || sdl.trim() === '') {
    throw new TandemError('SCHEMA_INVALID', 'The schema is empty: write a type, e.g. `type Books { title: String! }`.')
  }
  let document
  try {
    document = parse(sdl, { noLocation: false })
  } catch (err) {
    const where = err instanceof GraphQLError && err.locations?.[0]
      ? ` (line ${err.locations[0].line}, column ${err.locations[0].column})` : ''
    const what = err instanceof GraphQLError ? err.message.replace(/^Syntax Error: /, '') : String(err)
    throw new TandemError('SCHEMA_INVALID', `The schema is not valid GraphQL SDL${where}: ${what}`)
  }
  const schemas: CollectionSchema[] = []
  const seen = new Set<string>()
  for (const def of document.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION) {
      throw new TandemError('SCHEMA_INVALID',
        `Only object types (\`type Name { … }\`) define collections; found a ${kindWords(def.kind)}.`)
    }
    const name = def.name.value
    checkName(name, 'collection')
    if (seen.has(name)) {
      throw new TandemError('DUPLICATE_COLLECTION', `The schema defines the collection "${name}" twice.`, { collection: name })
    }
    seen.add(name)
    if ((def.interfaces?.length ?? 0) > 0 || (def.directives?.length ?? 0) > 0) {
      throw new TandemError('SCHEMA_INVALID', `Collection "${name}": interfaces and directives are not supported.`)
    }
    const fields = def.fields ?? []
    if (fields.length === 0) {
      throw new TandemError('SCHEMA_INVALID', `Collection "${name}" has no fields.`, { collection: name })
    }
    if (fields.length > MAX_FIELDS) {
      throw new TandemError('SCHEMA_INVALID', `Collection "${name}" has ${fields.length} fields; at most ${MAX_FIELDS} are allowed.`)
    }
    const out: FieldSchema[] = []
    const fieldNames = new Set<string>()
    for (const field of fields) {
      const fname = field.name.value
      checkName(fname, `field of "${name}"`)
      if (fieldNames.has(fname)) {
        throw new TandemError('SCHEMA_INVALID', `Collection "${name}" has the field "${fname}" twice.`, { collection: name, field: fname })
      }
      fieldNames.add(fname)
      if ((field.arguments?.length ?? 0) > 0) {
        throw new TandemError('SCHEMA_INVALID', `Field "${name}.${fname}": arguments are not supported.`)
      }
      const f = fieldType(name, fname, field.type)
      const crdt = crdtOf(name, field, f)
      if (crdt !== undefined) f.crdt = crdt
      const dflt = defaultOf(name, field)
      if (dflt !== undefined) f.default = checkDefault(name, f, dflt)
      out.push(f)
    }
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    schemas.push({ name, fields: out })
  }
  return schemas
}

function fieldType(collection: string, field: string, node: TypeNode): FieldSchema {
  let required = false
  let list = false
  let itemRequired = false
  let t = node
  if (t.kind === Kind.NON_NULL_TYPE) { required = true; t = t.type }
  if (t.kind === Kind.LIST_TYPE) {
    list = true
    t = t.type
    if (t.kind === Kind.NON_NULL_TYPE) { itemRequired = true; t = t.type }
    if (t.kind === Kind.LIST_TYPE) {
      throw new TandemError('SCHEMA_INVALID', `Field "${collection}.${field}": lists of lists are not supported (use JSON).`)
    }
  }
  if (t.kind !== Kind.NAMED_TYPE) throw new TandemError('SCHEMA_INVALID', `Field "${collection}.${field}" has no type.`)
  const type = t.name.value
  if (!(SCALARS as readonly string[]).includes(type)) {
    throw new TandemError('UNKNOWN_SCALAR',
      `Field "${collection}.${field}" has the unknown type "${type}"; use one of ${SCALARS.join(', ')}.`,
      { collection, field, type })
  }
  return { name: field, type: type as Scalar, list, required, itemRequired }
}

/**
 * The one directive a field takes: `@default(value: …)`, a GraphQL literal (`5`, `"text"`, `true`,
 * `[1, 2]`, `{a: 1}` for JSON). `@renamedFrom` and the like are refused: a rename is a remove and an add.
 */
function defaultOf(collection: string, field: FieldDefinitionNode): unknown {
  let value: unknown
  for (const d of field.directives ?? []) {
    const where = `Field "${collection}.${field.name.value}"`
    if (d.name.value === 'crdt') continue
    if (d.name.value !== 'default') {
      const rename = /rename/i.test(d.name.value)
        ? ' Renames are not supported: remove the field and add one with the new name (the old values stay in the history).' : ''
      throw new TandemError('SCHEMA_INVALID', `${where}: the directive @${d.name.value} is not supported; only @default(value: …) and @crdt(type: pncounter|pcounter) are.${rename}`)
    }
    const args = d.arguments ?? []
    if (value !== undefined || args.length !== 1 || args[0]!.name.value !== 'value') {
      throw new TandemError('SCHEMA_INVALID', `${where}: write a default as @default(value: …), once.`)
    }
    // Plain JSON again: graphql builds input objects without a prototype.
    value = JSON.parse(JSON.stringify(valueFromASTUntyped(args[0]!.value))) as unknown
    if (value === null) throw new TandemError('SCHEMA_INVALID', `${where}: a default of null is what every field has already; leave it out.`)
  }
  return value
}

/**
 * `@crdt(type: pncounter)` or `@crdt(type: pcounter)` (DefraDB's spelling): the field is a counter.
 * Only a single Int or Float can be one.
 */
function crdtOf(collection: string, field: FieldDefinitionNode, f: FieldSchema): CounterKind | undefined {
  let kind: CounterKind | undefined
  for (const d of field.directives ?? []) {
    if (d.name.value !== 'crdt') continue
    const where = `Field "${collection}.${field.name.value}"`
    const args = d.arguments ?? []
    const arg = args[0]
    const value = arg === undefined ? undefined : valueFromASTUntyped(arg.value)
    if (kind !== undefined || args.length !== 1 || arg!.name.value !== 'type' || (value !== 'pncounter' && value !== 'pcounter')) {
      throw new TandemError('SCHEMA_INVALID', `${where}: write a counter as @crdt(type: pncounter) or @crdt(type: pcounter), once.`)
    }
    if (!canBeCounter(f)) {
      throw new TandemError('SCHEMA_INVALID', `${where} is ${f.list ? `a list of ${f.type}` : f.type}: a counter (@crdt(type: ${value})) must be an Int or a Float.`, { collection, field: f.name })
    }
    kind = value
  }
  return kind
}

/** Only a single Int or Float can be a counter (the SDL and a version from the wire alike). */
export function canBeCounter(f: Pick<FieldSchema, 'type' | 'list'>): boolean {
  return (f.type === 'Int' || f.type === 'Float') && !f.list
}

function checkName(name: string, what: string): void {
  if (name.startsWith(RESERVED_PREFIX)) {
    throw new TandemError('SCHEMA_INVALID', `The ${what} name "${name}" starts with "_", which Tandem reserves for itself.`)
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new TandemError('SCHEMA_INVALID', `The ${what} name "${name.slice(0, 20)}…" is longer than ${MAX_NAME_LENGTH} characters.`)
  }
}

function kindWords(kind: string): string {
  return kind.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/_/g, ' ').toLowerCase()
}

/**
 * The collection ID: the CID of the canonical schema (name + sorted fields). Two devices that define
 * the same collection get the same ID, whatever their SDL's field order or whitespace.
 */
export function collectionIDOf(schema: CollectionSchema): CollectionID {
  return cidOf(dagCbor.encode(canonical(schema))).toString() as CollectionID
}

function canonical(schema: CollectionSchema): unknown {
  return {
    name: schema.name,
    fields: schema.fields.map(canonicalField),
  }
}

/** A field as it is hashed into IDs: `default` only where there is one (so schemas without defaults keep their IDs). */
export function canonicalField(f: FieldSchema): Record<string, unknown> {
  const out: Record<string, unknown> = { name: f.name, type: f.type, list: f.list, required: f.required, itemRequired: f.itemRequired }
  if (f.default !== undefined) out.default = f.default
  if (f.crdt !== undefined) out.crdt = f.crdt
  return out
}

/** The schema as SDL again (for display and for `collection describe`). */
export function toSDL(schema: CollectionSchema): string {
  const lines = schema.fields.map((f) => {
    let t: string = f.type
    if (f.list) t = `[${t}${f.itemRequired ? '!' : ''}]`
    return `  ${f.name}: ${t}${f.required ? '!' : ''}${f.crdt !== undefined ? ` @crdt(type: ${f.crdt})` : ''}${f.default !== undefined ? ` @default(value: ${literal(f.default)})` : ''}`
  })
  return `type ${schema.name} {\n${lines.join('\n')}\n}`
}

/** A value as a GraphQL literal (what `@default(value: …)` reads back). */
export function literal(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (Array.isArray(v)) return `[${v.map(literal).join(', ')}]`
  if (typeof v === 'object') return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}: ${literal(x)}`).join(', ')}}`
  return JSON.stringify(v)
}
