/**
 * A fast encoder for the subset of dag-cbor that blocks use, byte-for-byte equal to @ipld/dag-cbor
 * (a property test holds it to that). Writing a block encodes it twice (unsigned for the signature
 * leaf, then signed), and the general encoder's token tree made that the largest cost of a local
 * write. Anything outside the subset falls back to @ipld/dag-cbor itself.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'

class Unsupported extends Error {}

class Writer {
  // One memory, three views: bytes, numbers, and Buffer's native string writer (the fastest here).
  buf = new Uint8Array(4096)
  view = new DataView(this.buf.buffer)
  text = Buffer.from(this.buf.buffer)
  pos = 0

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n))
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
    this.view = new DataView(next.buffer)
    this.text = Buffer.from(next.buffer)
  }

  /** A major type with its argument, in the shortest form (as canonical CBOR requires). */
  head(major: number, n: number): void {
    this.ensure(9)
    const m = major << 5
    const b = this.buf
    if (n < 24) b[this.pos++] = m | n
    else if (n < 0x100) { b[this.pos++] = m | 24; b[this.pos++] = n }
    else if (n < 0x10000) { b[this.pos++] = m | 25; this.view.setUint16(this.pos, n); this.pos += 2 }
    else if (n < 0x100000000) { b[this.pos++] = m | 26; this.view.setUint32(this.pos, n); this.pos += 4 }
    else {
      b[this.pos++] = m | 27
      this.view.setUint32(this.pos, Math.floor(n / 0x100000000))
      this.view.setUint32(this.pos + 4, n >>> 0)
      this.pos += 8
    }
  }

  bytes(data: Uint8Array): void {
    this.head(2, data.length)
    this.ensure(data.length)
    this.buf.set(data, this.pos)
    this.pos += data.length
  }

  string(s: string): void {
    const len = Buffer.byteLength(s, 'utf8')
    this.head(3, len)
    this.ensure(len)
    this.pos += this.text.write(s, this.pos, len, 'utf8')
  }

  float(v: number): void {
    this.ensure(9)
    this.buf[this.pos++] = 0xfb
    this.view.setFloat64(this.pos, v)
    this.pos += 8
  }
}

function value(w: Writer, v: unknown): void {
  switch (typeof v) {
    case 'string': w.string(v); return
    case 'boolean': w.ensure(1); w.buf[w.pos++] = v ? 0xf5 : 0xf4; return
    case 'number':
      if (!Number.isFinite(v)) throw new Unsupported()
      if (Number.isSafeInteger(v)) {
        if (v >= 0) w.head(0, v)
        else w.head(1, -1 - v)
      } else {
        w.float(v)
      }
      return
    case 'object': {
      if (v === null) { w.ensure(1); w.buf[w.pos++] = 0xf6; return }
      if (Array.isArray(v)) {
        w.head(4, v.length)
        for (const item of v) value(w, item)
        return
      }
      if (v instanceof Uint8Array) { w.bytes(v); return }
      const cid = CID.asCID(v)
      if (cid !== null) {
        w.head(6, 42)
        const raw = new Uint8Array(cid.bytes.length + 1) // dag-cbor links: a 0x00 multibase prefix
        raw.set(cid.bytes, 1)
        w.bytes(raw)
        return
      }
      if (Object.getPrototypeOf(v) !== Object.prototype) throw new Unsupported()
      map(w, v as Record<string, unknown>)
      return
    }
    default:
      throw new Unsupported()
  }
}

/** dag-cbor map key order: shorter UTF-8 first, then bytewise. */
function compareKeys(a: string, b: string): number {
  const la = Buffer.byteLength(a, 'utf8')
  const lb = Buffer.byteLength(b, 'utf8')
  if (la !== lb) return la - lb
  // ASCII (byte length = string length): UTF-16 order is byte order.
  if (la === a.length && lb === b.length) return a < b ? -1 : a > b ? 1 : 0
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

// Sorted key orders by key set: documents of one collection share a few key sets, so sorting
// happens once per shape. Bounded, since keys come from user data too.
const sortedKeys = new Map<string, string[]>()
const MAX_SHAPES = 4096

function map(w: Writer, obj: Record<string, unknown>): void {
  const own = Object.keys(obj)
  for (const k of own) if (obj[k] === undefined) throw new Unsupported()
  const shape = own.join('\u0000')
  let keys = sortedKeys.get(shape)
  // Keys may contain the separator: a hit counts only if it names exactly these keys.
  if (keys !== undefined && (keys.length !== own.length || !keys.every((k) => Object.hasOwn(obj, k)))) keys = undefined
  if (keys === undefined) {
    keys = [...own].sort(compareKeys)
    if (sortedKeys.size < MAX_SHAPES) sortedKeys.set(shape, keys)
  }
  w.head(5, keys.length)
  for (const k of keys) {
    w.string(k)
    value(w, obj[k])
  }
}

const shared = new Writer()

/** dag-cbor bytes of `obj`, the same bytes @ipld/dag-cbor's encode gives. */
export function encodeCbor(obj: unknown): Uint8Array {
  shared.pos = 0
  try {
    value(shared, obj)
  } catch (err) {
    if (err instanceof Unsupported) return dagCbor.encode(obj)
    throw err
  }
  return shared.buf.slice(0, shared.pos)
}
