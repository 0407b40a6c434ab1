/** Listing documents: field filters (equality, ranges, sets), sort by a field, paging, total count. */
import { TandemError } from '../../shared/errors.ts'
import type { CollectionSchema, FieldFilter, FilterOp, ListQuery } from '../../shared/types.ts'

const OPS: readonly FilterOp[] = ['_eq', '_ne', '_gt', '_gte', '_lt', '_lte', '_in', '_nin']
export const MAX_LIMIT = 10_000

export interface CompiledQuery {
  match: (values: Record<string, unknown>) => boolean
  compare: ((a: Record<string, unknown>, b: Record<string, unknown>) => number) | null
  limit: number
  offset: number
  deleted: boolean
  /** True when neither filter nor sort is given: the store's key order and the stored count serve. */
  plain: boolean
}

export function compileQuery(schema: CollectionSchema, q: ListQuery = {}): CompiledQuery {
  if (q === null || typeof q !== 'object') throw new TandemError('INVALID_INPUT', 'A list query must be an object.')
  const fields = new Map(schema.fields.map((f) => [f.name, f]))
  const known = (name: string, what: string): void => {
    if (!fields.has(name)) {
      throw new TandemError('UNKNOWN_FIELD', `Cannot ${what} by "${name}": ${schema.name} has no such field.`, { collection: schema.name, field: name })
    }
  }
  const preds: Array<(v: Record<string, unknown>) => boolean> = []
  for (const [name, cond] of Object.entries(q.filter ?? {})) {
    known(name, 'filter')
    preds.push(predicate(name, cond))
  }
  let compare: CompiledQuery['compare'] = null
  if (q.sort !== undefined) {
    if (typeof q.sort !== 'string' || q.sort === '' || q.sort === '-') throw new TandemError('INVALID_INPUT', 'sort names a field, or -field for descending.')
    const desc = q.sort.startsWith('-')
    const name = desc ? q.sort.slice(1) : q.sort
    known(name, 'sort')
    compare = (a, b) => (desc ? -1 : 1) * compareValues(a[name], b[name])
  }
  const limit = q.limit ?? MAX_LIMIT
  const offset = q.offset ?? 0
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_LIMIT) throw new TandemError('INVALID_INPUT', `limit must be a whole number from 0 to ${MAX_LIMIT}.`)
  if (!Number.isSafeInteger(offset) || offset < 0) throw new TandemError('INVALID_INPUT', 'offset must be a whole number, 0 or more.')
  return {
    match: (v) => preds.every((p) => p(v)),
    compare,
    limit,
    offset,
    deleted: q.deleted === true,
    plain: preds.length === 0 && compare === null,
  }
}

function predicate(name: string, cond: FieldFilter): (v: Record<string, unknown>) => boolean {
  const isOps = cond !== null && typeof cond === 'object' && !Array.isArray(cond) &&
    Object.keys(cond).length > 0 && Object.keys(cond).every((k) => k.startsWith('_'))
  if (!isOps) return (v) => equalValues(v[name], cond)
  const tests: Array<(x: unknown) => boolean> = []
  for (const [op, arg] of Object.entries(cond as Record<string, unknown>)) {
    if (!(OPS as readonly string[]).includes(op)) {
      throw new TandemError('INVALID_INPUT', `Unknown filter operator "${op}" on "${name}"; use ${OPS.join(', ')}.`)
    }
    switch (op as FilterOp) {
      case '_eq': tests.push((x) => equalValues(x, arg)); break
      case '_ne': tests.push((x) => !equalValues(x, arg)); break
      case '_gt': tests.push((x) => x != null && compareValues(x, arg) > 0); break
      case '_gte': tests.push((x) => x != null && compareValues(x, arg) >= 0); break
      case '_lt': tests.push((x) => x != null && compareValues(x, arg) < 0); break
      case '_lte': tests.push((x) => x != null && compareValues(x, arg) <= 0); break
      case '_in':
      case '_nin': {
        if (!Array.isArray(arg)) throw new TandemError('INVALID_INPUT', `${op} on "${name}" takes a list.`)
        const inList = (x: unknown): boolean => arg.some((a) => equalValues(x, a))
        tests.push(op === '_in' ? inList : (x) => !inList(x))
        break
      }
    }
  }
  return (v) => tests.every((t) => t(v[name] ?? null))
}

/** Total order over stored values: null first, then booleans, numbers, strings, then the rest as JSON. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra - rb
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b)
  const sa = typeof a === 'string' ? a : JSON.stringify(a)
  const sb = typeof b === 'string' ? b : JSON.stringify(b)
  return sa < sb ? -1 : sa > sb ? 1 : 0
}

function rank(v: unknown): number {
  if (v === null || v === undefined) return 0
  if (typeof v === 'boolean') return 1
  if (typeof v === 'number') return 2
  if (typeof v === 'string') return 3
  return 4
}

function equalValues(a: unknown, b: unknown): boolean {
  return compareValues(a ?? null, b ?? null) === 0
}
