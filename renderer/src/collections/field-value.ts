/**
 * Text typed into a form ↔ the value sent for a schema field. Numbers and booleans are converted
 * only when the text is one; anything else goes to the node as typed, so the node's own schema check
 * (the one every device applies) is what reports a wrong type.
 */
import type { FieldSchema } from '../../../shared/types.ts'

export function toText(field: FieldSchema, value: unknown): string {
  if (value === null || value === undefined) return ''
  if (field.list || field.type === 'JSON') return JSON.stringify(value)
  return String(value)
}

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string }

export function fromText(field: FieldSchema, text: string): Parsed {
  const t = text.trim()
  if (t === '') return { ok: true, value: null }
  if (field.list || field.type === 'JSON') {
    try {
      return { ok: true, value: JSON.parse(t) }
    } catch {
      return { ok: false, error: `${field.name}: write JSON, e.g. ${field.list ? '["a", "b"]' : '{"key": 1}'}.` }
    }
  }
  switch (field.type) {
    case 'Int':
    case 'Float':
      return { ok: true, value: /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(t) ? Number(t) : text }
    case 'Boolean':
      return { ok: true, value: t === 'true' ? true : t === 'false' ? false : text }
    default:
      return { ok: true, value: text }
  }
}

export function typeLabel(field: FieldSchema): string {
  const base = field.list ? `[${field.type}${field.itemRequired ? '!' : ''}]` : field.type
  return field.required ? `${base}!` : base
}
