/**
 * blocksFrame (wire.ts), the fast reader of DAG-sync block frames, against the general path
 * (dag-cbor decode + the zod schema): whatever it accepts, the general path accepts with the same
 * value; frames of other shapes fall back (null).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { z } from 'zod'
import { blocksFrame, bytes } from '../../main/net/wire.ts'

const MAX = 16
const schema = z.object({ blocks: z.array(bytes).max(MAX), att: bytes.refine((b) => b.length === 64).optional() })
const read = blocksFrame(MAX)

function general(data: Uint8Array): { blocks: Uint8Array[]; att?: Uint8Array } | undefined {
  try {
    const r = schema.safeParse(dagCbor.decode(data))
    return r.success ? r.data : undefined
  } catch {
    return undefined
  }
}

let seed = 0x1234567
const rnd = (): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 2 ** 32 }

test('frames of blocks read fast give what the general path gives', () => {
  for (const n of [0, 1, 5, 16]) {
    const blocks = Array.from({ length: n }, (_, i) => new Uint8Array(i * 37 % 300).map((_, j) => j * 7 + i))
    const data = dagCbor.encode({ blocks })
    const got = read(data)
    assert.ok(got !== null)
    assert.deepEqual(got, general(data))
  }
  for (const n of [0, 3]) {
    // With the sender's attestation (64 bytes) before the blocks.
    const data = dagCbor.encode({ att: new Uint8Array(64).map((_, i) => i), blocks: Array.from({ length: n }, (_, i) => new Uint8Array(10 + i).fill(i)) })
    const got = read(data)
    assert.ok(got !== null && got.att?.length === 64)
    assert.deepEqual(got, general(data))
  }
  assert.equal(read(dagCbor.encode({ att: new Uint8Array(63), blocks: [] })), null)
  assert.equal(read(dagCbor.encode({ att: new Uint8Array(64), blocks: [], x: 1 })), null)
  assert.equal(read(dagCbor.encode({ blocks: Array.from({ length: MAX + 1 }, () => new Uint8Array(1)) })), null)
  assert.equal(read(dagCbor.encode({ blocks: [new Uint8Array(1)], extra: 1 })), null)
  assert.equal(read(dagCbor.encode({ blocks: ['text'] })), null)
  assert.equal(read(dagCbor.encode({ done: true, truncated: false, missing: [] })), null)
  assert.equal(read(Uint8Array.from([...dagCbor.encode({ blocks: [] })], (x) => x).subarray(0, 7)), null)
  assert.equal(read(new Uint8Array([0xa1, 0x66, 0x62, 0x6c, 0x6f, 0x63, 0x6b, 0x73, 0x98, 0x01, 0x40])), null) // long count head
  assert.equal(read(new Uint8Array([0xa1, 0x66, 0x62, 0x6c, 0x6f, 0x63, 0x6b, 0x73, 0x81, 0x40, 0x00])), null) // trailing byte
})

test('corrupted frames: whatever the fast reader accepts, the general path accepts identically', () => {
  const plain = dagCbor.encode({ blocks: Array.from({ length: 6 }, (_, i) => new Uint8Array(20 + i * 30).fill(i)) })
  const attested = dagCbor.encode({ att: new Uint8Array(64).fill(9), blocks: Array.from({ length: 4 }, (_, i) => new Uint8Array(20 + i * 30).fill(i)) })
  let accepted = 0
  for (let k = 0; k < 40000; k++) {
    const base = k % 2 === 0 ? plain : attested
    let data = base.slice()
    const op = Math.floor(rnd() * 3)
    if (op === 0) data[Math.floor(rnd() * data.length)] = Math.floor(rnd() * 256)
    else if (op === 1) data = data.subarray(0, Math.floor(rnd() * data.length))
    else { const at = Math.floor(rnd() * data.length); data = new Uint8Array([...data.subarray(0, at), Math.floor(rnd() * 256), ...data.subarray(at)]) }
    const got = read(data)
    if (got === null) continue
    accepted++
    assert.deepEqual(got, general(data), Buffer.from(data).toString('hex'))
  }
  assert.ok(accepted > 0)
})
