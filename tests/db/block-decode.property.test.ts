/**
 * The strict block decoder (block-decode.ts) against the general path: whatever it accepts, the
 * general decoder accepts with the same value and re-encodes to the same bytes, and its leaf bytes
 * are those of the unsigned block. Canonical blocks take it; corrupted or non-canonical ones either
 * fall back or are decoded identically.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { decodeCanonicalBlock } from '../../main/db/block-decode.ts'
import { BLOCK_VERSION, newNonces, signBlocks, verifyBlock, type UnsignedBlock } from '../../main/db/block.ts'
import { loadOrCreateIdentity } from '../../main/db/identity.ts'
import { cidOf } from '../../main/db/cid.ts'
import { firstVersionID } from '../../main/db/versions.ts'
import type { CollectionID, DocID } from '../../shared/types.ts'
import { tempDir } from '../helpers/tmp.ts'

let seed = 0x2545f491
function rnd(): number {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5
  return (seed >>> 0) / 2 ** 32
}
const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!

function value(depth: number): unknown {
  const kinds = depth > 2 ? 7 : 9
  switch (Math.floor(rnd() * kinds)) {
    case 0: return pick(['', 'Dune', 'é café', '日本語', '\uFEFFbom', 'a'.repeat(30), 'x'.repeat(300), '😀'])
    case 1: return pick([0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, -1, -24, -25, -257, -(2 ** 40), Number.MIN_SAFE_INTEGER])
    case 2: return pick([0.5, -1.25, 1e300, -1e-300, 2 ** 53 + 2, 1e21, Math.PI])
    case 3: return pick([true, false, null])
    case 4: return new Uint8Array(Math.floor(rnd() * 40)).map(() => Math.floor(rnd() * 256))
    case 5: return cidOf(new Uint8Array([Math.floor(rnd() * 256)]))
    case 6: return pick(['z', 'zz', 'title', 'pages'])
    case 7: return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1))
    default: {
      const o: Record<string, unknown> = {}
      for (let i = 0; i < Math.floor(rnd() * 5); i++) o[pick(['a', 'b', 'bb', 'title', 'ü', 'x1', '_deleted'])] = value(depth + 1)
      return o
    }
  }
}

async function sampleBlocks(t: Parameters<typeof tempDir>[0], n: number, colSeed = 1): Promise<Uint8Array[]> {
  const id = await loadOrCreateIdentity(await tempDir(t))
  const col = cidOf(new Uint8Array([colSeed])).toString() as CollectionID
  const nonces = newNonces(n)
  const blocks: UnsignedBlock[] = []
  for (let i = 0; i < n; i++) {
    const fields: Record<string, unknown> = {}
    for (let j = 0; j < 1 + Math.floor(rnd() * 5); j++) fields[pick(['title', 'pages', 'tags', 'body', 'é', 'n', 'xs'])] = value(0)
    const genesis = rnd() < 0.5
    const b: UnsignedBlock = {
      v: BLOCK_VERSION, collection: col, schema: firstVersionID(col), parents: [], height: 1, fields, author: id.deviceID, time: Date.now(),
    }
    if (genesis) b.nonce = nonces[i]!
    else {
      b.doc = `bae-${col}` as DocID
      b.parents = [cidOf(new Uint8Array([i & 255, 1])), cidOf(new Uint8Array([i & 255, 2]))].sort((x, y) => (x.toString() < y.toString() ? -1 : 1))
      b.height = 2 + i
    }
    blocks.push(b)
  }
  return (await signBlocks(id, blocks)).map((e) => e.bytes.slice())
}

function generalAccepts(bytes: Uint8Array): unknown {
  let v: unknown
  try { v = dagCbor.decode(bytes) } catch { return undefined }
  const again = dagCbor.encode(v)
  return again.length === bytes.length && Buffer.compare(again, bytes) === 0 ? v : undefined
}

function leafOf(v: Record<string, unknown>): Uint8Array {
  const { sig: _sig, ...u } = v
  return new Uint8Array([0, ...dagCbor.encode(u)])
}

test('canonical blocks decode on the strict path to the general decoder\'s value and leaf', async (t) => {
  const blocks = await sampleBlocks(t, 400)
  let fast = 0
  for (const bytes of blocks) {
    const general = generalAccepts(bytes) as Record<string, unknown> | undefined
    const got = decodeCanonicalBlock(bytes)
    // Text with a leading BOM: the general decoder drops it, so such a block is refused (as before).
    if (general === undefined) { assert.equal(got, null); continue }
    if (got === null) continue // a BOM or such: the general path decides
    fast++
    assert.deepEqual(got.value, general)
    assert.deepEqual(new Uint8Array(got.leafInput), leafOf(general))
  }
  assert.ok(fast > 200, `only ${fast} of 400 took the strict path`) // non-ASCII keys and BOMs fall back
})

test('corrupted blocks: whatever the strict path accepts, the general path accepts identically', async (t) => {
  const blocks = await sampleBlocks(t, 100)
  let accepted = 0
  let tried = 0
  for (const original of blocks) {
    for (let k = 0; k < 150; k++) {
      const bytes = original.slice()
      const op = Math.floor(rnd() * 4)
      let mutated = bytes
      if (op === 0) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256)
      else if (op === 1) { const at = Math.floor(rnd() * bytes.length); bytes[at] = bytes[at]! ^ (1 << Math.floor(rnd() * 8)) }
      else if (op === 2) mutated = bytes.subarray(0, Math.floor(rnd() * bytes.length))
      else {
        const at = Math.floor(rnd() * bytes.length)
        mutated = new Uint8Array([...bytes.subarray(0, at), Math.floor(rnd() * 256), ...bytes.subarray(at)])
      }
      tried++
      const got = decodeCanonicalBlock(mutated)
      if (got === null) continue
      accepted++
      const general = generalAccepts(mutated) as Record<string, unknown> | undefined
      assert.ok(general !== undefined, `strict path accepted bytes the general one refuses: ${Buffer.from(mutated).toString('hex')}`)
      assert.deepEqual(got.value, general)
      assert.deepEqual(new Uint8Array(got.leafInput), leafOf(general))
    }
  }
  assert.ok(tried > 10000 && accepted > 0)
})

test('non-canonical encodings fall back to the general path, which refuses them', async (t) => {
  const [bytes] = await sampleBlocks(t, 1)
  const v = dagCbor.decode(bytes!) as Record<string, unknown>
  const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'))
  // hand-made maps: {a:1} with a long head; {b:1,a:1} unsorted; {a:1.0}; {a:1, a:2}; float16
  for (const h of ['a1616118' + '01', 'a2616201616101', 'a16161fb3ff0000000000000', 'a2616101616102', 'a16161f93c00', 'a1786161' + '01', 'bf616101ff']) {
    assert.equal(decodeCanonicalBlock(hex(h)), null, h)
  }
  // the block with its first key's head stretched to two bytes
  const stretched = new Uint8Array([bytes![0]!, 0x78, bytes![1]! & 31, ...bytes!.subarray(2)])
  assert.equal(decodeCanonicalBlock(stretched), null)
  await assert.rejects(verifyBlock(stretched), /BLOCK_INVALID|canonical|dag-cbor/)
  // a parent CID with trailing garbage inside the link
  assert.ok(v.sig !== undefined && CID.asCID(cidOf(new Uint8Array([1]))) !== null)
})

test('verifyBlock takes the strict path for honest blocks and refuses a flipped signature bit', async (t) => {
  const blocks = (await sampleBlocks(t, 40)).filter((b) => generalAccepts(b) !== undefined)
  for (const bytes of blocks) await verifyBlock(bytes)
  const bad = blocks[3]!.slice()
  bad[bad.length - 5]! ^= 1
  await assert.rejects(verifyBlock(bad))
})

test('blocks of other collections, schema versions and authors, interleaved, each decode to their own', async (t) => {
  // The strict path reuses a block's collection, schema and author strings when the next block's
  // bytes match (equal lengths here: every collection ID, and every device ID, is as long as another).
  const a = (await sampleBlocks(t, 60, 1)).filter((b) => generalAccepts(b) !== undefined)
  const b = (await sampleBlocks(t, 60, 2)).filter((x) => generalAccepts(x) !== undefined)
  const seen = new Set<string>()
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    for (const bytes of rnd() < 0.5 ? [a[i]!, b[i]!] : [b[i]!, a[i]!]) {
      const got = decodeCanonicalBlock(bytes)
      if (got === null) continue
      assert.deepEqual(got.value, generalAccepts(bytes))
      seen.add(`${String(got.value.collection)} ${String(got.value.author)}`)
    }
  }
  assert.equal(seen.size, 2, 'both collections and authors were decoded')
})
