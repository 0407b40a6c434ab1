/** Checks document values against a collection's schema, and normalizes them (DateTime → ISO 8601). */
import { TandemError } from '../../shared/errors.ts'
import type { CollectionSchema, FieldSchema, Fields, FieldValue } from '../../shared/types.ts'

export type ValidateMode = 'create' | 'update'

// Nested JSON deeper than this is almost certainly a mistake or an attack on the decoder's stack.
const MAX_JSON_DEPTH = 64
// RFC 3339 date-time (a date alone is accepted too and read as midnight UTC).
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i

export function validateFields(schema: CollectionSchema, input: unknown, mode: ValidateMode): Fields {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new TandemError('INVALID_INPUT', `A ${schema.name} document must be a JSON object of fields, e.g. {"${schema.fields[0]?.name ?? 'field'}": …}.`)
  }
  const byName = fieldsByName(schema)
  const out: Fields = {}
  for (const [name, value] of Object.entries(input as Record<string, unknown>)) {
    const field = byName.get(name)
    if (field === undefined) {
      throw new TandemError('UNKNOWN_FIELD',
        `${schema.name} has no field "${name}"; its fields are ${schema.fields.map((f) => f.name).join(', ')}.`,
        { collection: schema.name, field: name })
    }
    out[name] = checkValue(schema.name, field, value)
  }
  if (mode === 'create') {
    for (const f of schema.fields) {
      // A new document gets a field's default when it names no value (so filters see it as written).
      if (f.default !== undefined && out[f.name] === undefined) out[f.name] = f.default
      if (f.required && (out[f.name] === undefined || out[f.name] === null)) {
        throw new TandemError('MISSING_REQUIRED', `${schema.name} needs a value for "${f.name}" (${typeWords(f)}).`,
          { collection: schema.name, field: f.name })
      }
    }
  } else if (Object.keys(out).length === 0) {
    throw new TandemError('INVALID_INPUT', `Nothing to update: name at least one field of ${schema.name}.`)
  }
  return out
}

/**
 * `validateFields` as a check alone: throws as it would, builds nothing (a received block's fields
 * are stored as they came; a catch-up checked 100k documents, each with a copy made and dropped).
 */
export function checkFields(schema: CollectionSchema, input: unknown, mode: ValidateMode): void {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    validateFields(schema, input, mode) // throws its error
    return
  }
  const byName = fieldsByName(schema)
  let named = false
  for (const name in input) {
    if (!Object.hasOwn(input, name)) continue
    named = true
    const field = byName.get(name)
    const value = (input as Record<string, unknown>)[name]
    if (field === undefined || !fitsNow(schema.name, field, value)) {
      validateFields(schema, input, mode) // throws its error, in its order
      return
    }
  }
  if (mode === 'create') {
    for (const f of schema.fields) {
      if (!f.required) continue
      const value = Object.hasOwn(input, f.name) ? (input as Record<string, unknown>)[f.name] : f.default
      if (value === undefined || value === null) validateFields(schema, input, mode) // throws MISSING_REQUIRED
    }
  } else if (!named) {
    validateFields(schema, input, mode) // throws: nothing to update
  }
}

/** Whether `checkValue` would accept `value`, without its copy of a list. */
function fitsNow(collection: string, f: FieldSchema, value: unknown): boolean {
  try {
    if (value === null || value === undefined || !f.list) {
      checkValue(collection, f, value)
      return true
    }
    if (!Array.isArray(value)) return false
    for (const item of value) {
      if (item === null || item === undefined) {
        if (f.itemRequired) return false
        continue
      }
      checkScalar(collection, f, item)
    }
    return true
  } catch {
    return false
  }
}

/** A field's `@default` value, checked against the field (throws the typed error a document value would get). */
export function checkDefault(collection: string, f: FieldSchema, value: unknown): FieldValue {
  try {
    return checkValue(collection, f, value)
  } catch (err) {
    if (err instanceof TandemError) throw new TandemError('SCHEMA_INVALID', `The default of ${collection}.${f.name} does not fit it: ${err.message}`, err.details)
    throw err
  }
}

/** True when a stored value fits the field as it is now (values written under a conflicting version may not). */
export function fits(collection: string, f: FieldSchema, value: unknown): boolean {
  if (value === null || value === undefined) return true
  try {
    checkValue(collection, { ...f, required: false }, value)
    return true
  } catch {
    return false
  }
}

// A schema's fields by name, built once per schema (a bulk create validates thousands of documents).
const byNames = new WeakMap<CollectionSchema, Map<string, FieldSchema>>()

function fieldsByName(schema: CollectionSchema): Map<string, FieldSchema> {
  let m = byNames.get(schema)
  if (m === undefined) byNames.set(schema, m = new Map(schema.fields.map((f) => [f.name, f])))
  return m
}

function checkValue(collection: string, f: FieldSchema, value: unknown): FieldValue {
  if (value === null || value === undefined) {
    if (f.required) {
      throw new TandemError('MISSING_REQUIRED', `${collection}.${f.name} is required and cannot be empty.`, { collection, field: f.name })
    }
    return null
  }
  if (!f.list) return checkScalar(collection, f, value)
  if (!Array.isArray(value)) throw wrongType(collection, f, value)
  return value.map((item) => {
    if (item === null || item === undefined) {
      if (f.itemRequired) {
        throw new TandemError('WRONG_TYPE', `${collection}.${f.name} cannot hold empty (null) items.`, { collection, field: f.name })
      }
      return null
    }
    return checkScalar(collection, f, item)
  })
}

function checkScalar(collection: string, f: FieldSchema, v: unknown): FieldValue {
  switch (f.type) {
    case 'String':
      if (typeof v === 'string') return noLeadingBOM(collection, f, v)
      break
    case 'Int':
      if (typeof v === 'number' && Number.isSafeInteger(v)) return v
      break
    case 'Float':
      if (typeof v === 'number' && Number.isFinite(v)) return v
      break
    case 'Boolean':
      if (typeof v === 'boolean') return v
      break
    case 'DateTime': {
      if (typeof v === 'string' && DATE_TIME.test(v)) {
        const ms = Date.parse(v)
        if (!Number.isNaN(ms)) return new Date(ms).toISOString()
      }
      break
    }
    case 'JSON':
      if (isJSON(v, 0)) {
        if (hasLeadingBOM(v, 0)) throw bomError(collection, f)
        return v
      }
      throw new TandemError('WRONG_TYPE',
        `${collection}.${f.name} must be plain JSON (objects, arrays, strings, finite numbers, booleans, null; at most ${MAX_JSON_DEPTH} levels deep).`,
        { collection, field: f.name })
  }
  throw wrongType(collection, f, v)
}

/**
 * Text may not begin with a byte-order mark (U+FEFF, invisible; it comes with text pasted from some
 * files): the CBOR decoder other devices verify blocks with (cborg, through TextDecoder) drops it, so
 * such a block would no longer match its bytes there and would never sync. Refused here, with words.
 */
function noLeadingBOM(collection: string, f: FieldSchema, v: string): string {
  if (v.charCodeAt(0) === 0xfeff) throw bomError(collection, f)
  return v
}

function hasLeadingBOM(v: unknown, depth: number): boolean {
  if (depth > MAX_JSON_DEPTH) return false
  if (typeof v === 'string') return v.charCodeAt(0) === 0xfeff
  if (Array.isArray(v)) return v.some((x) => hasLeadingBOM(x, depth + 1))
  if (v !== null && typeof v === 'object') return Object.entries(v).some(([k, x]) => k.charCodeAt(0) === 0xfeff || hasLeadingBOM(x, depth + 1))
  return false
}

function bomError(collection: string, f: FieldSchema): TandemError {
  return new TandemError('INVALID_INPUT',
    `${collection}.${f.name} has text that begins with an invisible byte-order mark (U+FEFF); remove it and try again.`,
    { collection, field: f.name })
}

function isJSON(v: unknown, depth: number): boolean {
  if (depth > MAX_JSON_DEPTH) return false
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true
  if (typeof v === 'number') return Number.isFinite(v)
  if (Array.isArray(v)) return v.every((x) => isJSON(x, depth + 1))
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.values(v as object).every((x) => isJSON(x, depth + 1))
  }
  return false
}

function wrongType(collection: string, f: FieldSchema, v: unknown): TandemError {
  return new TandemError('WRONG_TYPE', `${collection}.${f.name} must be ${typeWords(f)}, not ${describe(v)}.`,
    { collection, field: f.name, expected: f.type })
}

const SCALAR_WORDS: Record<string, string> = {
  String: 'text', Int: 'a whole number', Float: 'a number', Boolean: 'true or false',
  DateTime: 'a date-time like 2026-11-28T12:00:00Z', JSON: 'JSON',
}

function typeWords(f: FieldSchema): string {
  const one = SCALAR_WORDS[f.type] ?? f.type
  return f.list ? `a list of ${one}` : one
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'string') return `the text "${v.length > 30 ? `${v.slice(0, 30)}…` : v}"`
  if (typeof v === 'number') return Number.isInteger(v) ? `the whole number ${v}` : `the number ${v}`
  if (typeof v === 'object') return 'an object'
  return `${typeof v} ${String(v)}`
}
