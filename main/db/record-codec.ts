/**
 * How a document record (crdt.ts `DocRecord`) is stored: JSON text of an array, not of the object,
 * so the field names are not repeated in every record, and with each head that is also in the
 * stamp table `c` (a new document's only head is; so is an edit's that won a field) written as its
 * index there instead of a second copy of its 59-character CID. A new ~200-byte document's record
 * is ~370 bytes instead of ~480; a bulk write's LevelDB bytes are mostly records and blocks.
 *
 *   [v, w, c, heads, h, deleted (0 or 1), createdAt, updatedAt]   heads: CID string or index into c
 *   [v, w, x, c, heads, h, deleted, createdAt, updatedAt]          a document with conflicts (crdt.ts `x`)
 *
 * The conflicts go before `c`, so a record without them is byte for byte what it was, and
 * `recordHeads` still finds `c` and the heads at the end.
 */
import type { BlockCID } from '../../shared/types.ts'
import type { DocRecord } from './crdt.ts'

export function encodeRecord(rec: DocRecord): string {
  const { c, heads } = rec
  let hs: Array<string | number> = heads
  for (let i = 0; i < heads.length; i++) {
    const at = c.indexOf(heads[i]!)
    if (at < 0) continue
    if (hs === heads) hs = heads.slice()
    hs[i] = at
  }
  if (rec.x !== undefined) return JSON.stringify([rec.v, rec.w, rec.x, c, hs, rec.h, rec.deleted ? 1 : 0, rec.createdAt, rec.updatedAt])
  return JSON.stringify([rec.v, rec.w, c, hs, rec.h, rec.deleted ? 1 : 0, rec.createdAt, rec.updatedAt])
}

export function decodeRecord(text: string): DocRecord {
  const a = JSON.parse(text) as unknown[]
  if (a.length === 9) {
    const rec = decodeArray(a.slice(0, 2).concat(a.slice(3)))
    rec.x = a[2] as DocRecord['x']
    return rec
  }
  return decodeArray(a)
}

function decodeArray(u: unknown[]): DocRecord {
  const a = u as [DocRecord['v'], DocRecord['w'], DocRecord['c'], Array<BlockCID | number>, number, number, number, number]
  const c = a[2]
  const heads = a[3].map((h) => typeof h === 'number' ? c[h]! : h)
  return { v: a[0], w: a[1], c, heads, h: a[4], deleted: a[5] === 1, createdAt: a[6], updatedAt: a[7] }
}

/**
 * The heads of a stored record, from its text (head exchange scans records for these alone). The
 * last four entries are numbers, and `c` and the heads hold only CID strings and small integers (no
 * brackets): both are cut out from the end and parsed alone, without parsing the fields before
 * them. Text of any other shape takes the full decode.
 */
export function recordHeads(text: string): BlockCID[] {
  const hsEnd = text.lastIndexOf(']', text.length - 2)
  const hsStart = hsEnd < 0 ? -1 : text.lastIndexOf('[', hsEnd)
  if (hsStart < 2 || text.charCodeAt(hsStart - 1) !== 0x2c /* , */ || text.charCodeAt(hsStart - 2) !== 0x5d /* ] */) return decodeRecord(text).heads
  try {
    const hs = JSON.parse(text.slice(hsStart, hsEnd + 1)) as Array<BlockCID | number>
    if (hs.every((h) => typeof h === 'string')) return hs
    const cStart = text.lastIndexOf('[', hsStart - 2)
    const c = JSON.parse(text.slice(cStart, hsStart - 1)) as DocRecord['c']
    return hs.map((h) => typeof h === 'number' ? c[h]! : h)
  } catch {
    return decodeRecord(text).heads
  }
}

/** The value encoding of `Store.docs` (abstract-level's custom encoding form). */
export const recordEncoding = {
  name: 'tandem-doc-record',
  format: 'utf8' as const,
  encode: encodeRecord,
  decode: decodeRecord,
}
