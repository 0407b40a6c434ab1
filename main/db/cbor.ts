/**
 * A fast encoder for the subset of dag-cbor that blocks use, byte-for-byte equal to @ipld/dag-cbor
 * (a property test holds it to that). The general encoder's token tree made encoding the largest cost
 * of a local write. A block is encoded once: unsigned for its signature leaf, with the place of the
 * `sig` entry noted, which is spliced in once the batch is signed (`encodeCborWithSlot`,
 * `spliceEntry`). Anything outside the subset falls back to @ipld/dag-cbor itself.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'

class Unsupported extends Error {}

// Buffer's per-encoding writers (what `write(s, offset, length, encoding)` dispatches to, without the
// dispatch): present in every Node this runs on, but not in @types/node, so checked once here.
interface Writers { latin1Write(s: string, offset: number, length: number): number; utf8Write(s: string, offset: number, length: number): number }
const HAS_WRITERS = typeof (Buffer.prototype as unknown as Partial<Writers>).latin1Write === 'function' &&
  typeof (Buffer.prototype as unknown as Partial<Writers>).utf8Write === 'function'

// Small typed arrays live in the V8 heap, but one over 64 bytes gets its own ArrayBuffer, which
// costs far more than the bytes in it (a 600-byte slice() measured ~2 µs here, as long as hashing
// it). Hot paths therefore write into slabs and hand out views: many blocks share one ArrayBuffer.
const SLAB = 64 * 1024

class Writer {
  // One memory, three views: bytes, numbers, and Buffer's native string writers (the fastest here).
  buf: Buffer & Writers
  view: DataView
  pos = 0
  /** Where the value being written starts (a slab writer keeps what lies before it). */
  start = 0

  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size) as Buffer & Writers
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length)
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    // Move the value being written to a fresh memory; views already handed out keep the old one.
    const used = this.pos - this.start
    const next = Buffer.allocUnsafeSlow(Math.max(SLAB, 2 * (used + n))) as Buffer & Writers
    this.buf.copy(next, 0, this.start, this.pos)
    this.buf = next
    this.view = new DataView(next.buffer, next.byteOffset, next.length)
    this.start = 0
    this.pos = used
  }

  /** The value written since `start`, as a view (no copy); the next value starts after it. */
  take(): Uint8Array {
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.start, this.pos - this.start)
    this.start = this.pos
    return out
  }

  /** Drops what was written since `start`. */
  rewind(): void {
    this.pos = this.start
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
    // ASCII (as many bytes as UTF-16 units): latin1 writes the same bytes, several times faster.
    if (!HAS_WRITERS) this.pos += this.buf.write(s, this.pos, len, 'utf8')
    else if (len === s.length) this.pos += this.buf.latin1Write(s, this.pos, len)
    else this.pos += this.buf.utf8Write(s, this.pos, len)
  }

  raw(data: Uint8Array): void {
    const n = data.length
    this.ensure(n)
    if (n <= 16) {
      const b = this.buf
      for (let i = 0; i < n; i++) b[this.pos + i] = data[i]!
    } else {
      this.buf.set(data, this.pos)
    }
    this.pos += n
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
        w.head(2, cid.bytes.length + 1) // dag-cbor links: bytes with a 0x00 multibase prefix
        w.ensure(1)
        w.buf[w.pos++] = 0
        w.raw(cid.bytes)
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

// Sorted key orders by key set, with each key's encoding: documents of one collection share a few
// key sets, so sorting and encoding keys happen once per shape. Bounded, since keys come from user
// data too.
interface Shape { keys: string[]; encoded: Uint8Array[] }
const shapes = new Map<string, Shape>()
const MAX_SHAPES = 4096

// The last shape seen for each key count: a map with the same keys in the same order (the usual
// case: blocks, and documents built alike) skips the shape key and the lookup.
const recent: Array<{ own: string[]; shape: Shape } | undefined> = []

function shapeOf(obj: Record<string, unknown>): Shape {
  const own = Object.keys(obj)
  const last = recent[own.length]
  if (last !== undefined) {
    let same = true
    for (let i = 0; i < own.length; i++) if (own[i] !== last.own[i]) { same = false; break }
    if (same) return last.shape
  }
  const id = own.join('\u0000')
  let shape = shapes.get(id)
  // Keys may contain the separator: a hit counts only if it names exactly these keys.
  if (shape !== undefined && (shape.keys.length !== own.length || !shape.keys.every((k) => Object.hasOwn(obj, k)))) shape = undefined
  if (shape === undefined) {
    const keys = [...own].sort(compareKeys)
    const encoded = keys.map((k) => {
      const w = new Writer(16 + 3 * k.length)
      w.string(k)
      return new Uint8Array(w.buf.subarray(0, w.pos))
    })
    shape = { keys, encoded }
    if (shapes.size < MAX_SHAPES) shapes.set(id, shape)
  }
  if (own.length < 64) recent[own.length] = { own, shape }
  return shape
}

function map(w: Writer, obj: Record<string, unknown>): void {
  const { keys, encoded } = shapeOf(obj)
  w.head(5, keys.length)
  for (let i = 0; i < keys.length; i++) {
    w.raw(encoded[i]!)
    value(w, obj[keys[i]!])
  }
}

// Scratch for values copied out (encodeCbor) or only compared; slabs for values handed out as views.
const scratch = new Writer(4096)
const slab = new Writer(SLAB)

/** dag-cbor bytes of `obj`, the same bytes @ipld/dag-cbor's encode gives, in an ArrayBuffer of their own. */
export function encodeCbor(obj: unknown): Uint8Array {
  scratch.pos = scratch.start = 0
  try {
    value(scratch, obj)
  } catch (err) {
    if (err instanceof Unsupported) return dagCbor.encode(obj)
    throw err
  }
  return new Uint8Array(scratch.buf.subarray(0, scratch.pos))
}

/**
 * True when `bytes` are exactly the dag-cbor encoding of `obj` (what @ipld/dag-cbor's encode would
 * give), without allocating the encoding.
 */
export function encodesTo(obj: unknown, bytes: Uint8Array): boolean {
  scratch.pos = scratch.start = 0
  let mine: Uint8Array
  try {
    value(scratch, obj)
    mine = scratch.buf.subarray(0, scratch.pos)
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err
    mine = dagCbor.encode(obj)
  }
  return mine.length === bytes.length && Buffer.compare(mine, bytes) === 0
}

/** `n` bytes (uninitialized) in a shared slab: cheap to get, kept alive by any view into the slab. */
export function slabAlloc(n: number): Uint8Array {
  slab.ensure(n)
  slab.pos += n
  return slab.take()
}

/** Writes a latin1 string (bytes as UTF-16 units 0..255, as `hash(…, 'latin1')` gives) into `into` at `at`. */
export function writeLatin1(into: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) into[at + i] = s.charCodeAt(i)
}

/**
 * The dag-cbor bytes of a map (of fewer than 23 keys, none of them `slot`) after `lead` zero bytes
 * left for the caller, in a slab, and the offset (from the map's start) at which an entry under
 * `slot` would go, so that `spliceEntry` can add one without encoding the map again. Null when the
 * map is outside the fast subset.
 */
export function encodeCborWithSlot(obj: Record<string, unknown>, slot: string, lead: number): { bytes: Uint8Array; at: number } | null {
  const w = slab
  try {
    const { keys, encoded } = shapeOf(obj)
    if (keys.length >= 23 || Object.hasOwn(obj, slot)) return null
    w.ensure(lead)
    w.buf.fill(0, w.pos, w.pos + lead)
    w.pos += lead
    w.head(5, keys.length)
    let at = -1
    for (let i = 0; i < keys.length; i++) {
      if (at < 0 && compareKeys(slot, keys[i]!) < 0) at = w.pos - w.start - lead
      w.raw(encoded[i]!)
      value(w, obj[keys[i]!])
    }
    if (at < 0) at = w.pos - w.start - lead
    return { bytes: w.take(), at }
  } catch (err) {
    w.rewind()
    if (err instanceof Unsupported) return null
    throw err
  }
}

/**
 * `map` (the bytes of a map of fewer than 23 entries, as from `encodeCborWithSlot`) with the entry
 * `slot: entry` added at `at`: the dag-cbor bytes of the map with that one more key, in a slab.
 * `entry` must be in the fast subset (byte strings, integers, strings, plain maps, lists).
 */
export function spliceEntry(map: Uint8Array, at: number, slot: string, entry: unknown): Uint8Array {
  const w = slab
  try {
    w.ensure(map.length + 1)
    w.buf[w.pos++] = map[0]! + 1 // one more entry; still under 24, so still a one-byte head
    w.buf.set(map.subarray(1, at), w.pos)
    w.pos += at - 1
    w.string(slot)
    value(w, entry)
    w.ensure(map.length - at)
    w.buf.set(map.subarray(at), w.pos)
    w.pos += map.length - at
    return w.take()
  } catch (err) {
    w.rewind()
    throw err
  }
}
