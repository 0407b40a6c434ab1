/**
 * Hostile blocks through Database.applyBlocks (the one door every block from another device comes
 * in by): random bytes and CBOR, mutations of valid blocks, wrong CIDs, forged signatures, unknown
 * authors, absurd heights, schema-violating fields, links across documents and to blocks that never
 * come. Every one is rejected (or, when only its ancestors are missing, waits pending) and none is
 * applied: the victim's blocks, records, digests and counts stay exactly as they were.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { Database, storeOf } from '../../main/db/database.ts'
import { BLOCK_VERSION, decodeStoredBlock, signBlocks, type Block, type UnsignedBlock } from '../../main/db/block.ts'
import { cidOf } from '../../main/db/cid.ts'
import { loadOrCreateIdentity } from '../../main/db/identity.ts'
import { firstVersionID } from '../../main/db/versions.ts'
import type { ApplyResult } from '../../shared/types.ts'
import { tempDir } from '../helpers/tmp.ts'
import { fuzz, mutated } from './fuzz-seed.ts'

const SDL = 'type Books { title: String! pages: Int tags: [String] read: Boolean }'

async function setup(t: Parameters<typeof tempDir>[0]) {
  const author = await Database.open(await tempDir(t))
  t.after(() => author.close())
  const stranger = await loadOrCreateIdentity(await tempDir(t))
  let victimID = ''
  const victim = await Database.open(await tempDir(t), { isTrustedAuthor: (a) => a === author.deviceID || a === victimID })
  victimID = victim.deviceID
  t.after(() => victim.close())
  const [info] = await author.addCollections(SDL)
  await victim.addCollections(SDL)
  const collection = info!.id
  // A shared base: two documents with a little history, on both.
  const d1 = await author.createDocument('Books', { title: 'one', pages: 1 })
  await author.updateDocument('Books', d1, { pages: 2 })
  const d2 = await author.createDocument('Books', { title: 'two' })
  const base: Array<{ cid: string; bytes: Uint8Array }> = []
  for await (const { cid, bytes } of author.allBlocks()) base.push({ cid, bytes })
  const r = await victim.applyBlocks(base)
  assert.ok(r.every((x) => x.status === 'applied'))
  const head1 = (await author.getDocument('Books', d1)).heads[0]!
  const head2 = (await author.getDocument('Books', d2)).heads[0]!
  const unsigned = (part: Partial<UnsignedBlock>): UnsignedBlock => ({
    v: BLOCK_VERSION, collection, schema: firstVersionID(collection), doc: d1, parents: [CID.parse(head1)], height: 3,
    fields: { pages: 3 }, author: author.deviceID, time: 1_700_000_000_000, ...part,
  })
  return { author, stranger, victim, collection, d1, d2, head1, head2, unsigned }
}

/** Everything applied on the victim, to compare before and after. */
async function snapshot(db: Database): Promise<string> {
  const blocks = await storeOf(db).blocks.keys().all()
  const docs = await storeOf(db).docs.iterator().all()
  const digests = [...(await db.collectionDigests()).values()].map((d) => Buffer.from(d).toString('hex'))
  const counts = await storeOf(db).counts.iterator().all()
  return JSON.stringify({ blocks, docs, digests, counts })
}

function reencode(block: Block): Uint8Array {
  return dagCbor.encode(block)
}

test('hostile blocks are all rejected and none is applied', async (t) => {
  const s = await setup(t)
  const before = await snapshot(s.victim)
  let total = 0
  const expectNone = async (entries: Array<{ bytes: Uint8Array; cid?: string }>, allowed: ApplyResult['status'][] = ['rejected'], reason?: RegExp): Promise<void> => {
    const results = await s.victim.applyBlocks(entries)
    for (const r of results) {
      assert.ok(allowed.includes(r.status), `status ${r.status} (${r.reason ?? ''})`)
      if (reason !== undefined && r.status === 'rejected') assert.match(r.reason!, reason)
    }
    assert.equal(await snapshot(s.victim), before, 'nothing was applied')
  }
  const [valid] = await signBlocks(s.author.identity, [s.unsigned({})])
  const validBytes = valid!.bytes

  // Random bytes, and random CBOR (maps with a block's keys among others).
  const cborValue = fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null),
      fc.uint8Array({ maxLength: 80 }), fc.array(tie('v'), { maxLength: 5 }),
      fc.dictionary(fc.constantFrom('v', 'collection', 'schema', 'doc', 'nonce', 'parents', 'height', 'fields', 'author', 'time', 'sig', 'x'), tie('v'), { maxKeys: 11 })),
  }))
  total += await fuzz(t, 'random bytes', fc.array(fc.uint8Array({ maxLength: 3000 }), { minLength: 1, maxLength: 4 }), 150, (bs) => expectNone(bs.map((bytes) => ({ bytes }))))
  total += await fuzz(t, 'random CBOR', cborValue.v, 300, (v) => expectNone([{ bytes: dagCbor.encode(v) }]))

  // Mutations of a valid, not yet applied block.
  total += await fuzz(t, 'mutated valid block', mutated(validBytes).filter((b) => Buffer.compare(b, validBytes) !== 0), 400, (bytes) => expectNone([{ bytes }]))

  // Right bytes, wrong CID.
  const otherCID = fc.oneof(fc.constant(s.head1), fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => cidOf(b).toString()), fc.string({ maxLength: 80 }))
  total += await fuzz(t, 'wrong CID', otherCID.filter((c) => c !== valid!.id), 150, (cid) => expectNone([{ bytes: validBytes, cid }]))

  // Forged signatures: random, another device's key under our author's name, a signature moved
  // from another block, a tampered proof path.
  const otherSigned = (await signBlocks(s.author.identity, [s.unsigned({ fields: { pages: 99 } })]))[0]!.block.sig
  const forged = fc.oneof(
    fc.uint8Array({ minLength: 64, maxLength: 64 }).map((sig) => ({ ...valid!.block, sig: { ...valid!.block.sig, s: sig } })),
    fc.constant(null).map(() => 'stranger-signs'),
    fc.constant({ ...valid!.block, sig: otherSigned }),
    fc.tuple(fc.integer({ min: 1, max: 4 }), fc.nat()).chain(([n, d]) => fc.uint8Array({ minLength: 32 * n, maxLength: 32 * n })
      .map((p) => ({ ...valid!.block, sig: { ...valid!.block.sig, p, d: d % 2 ** n } }))),
  )
  total += await fuzz(t, 'forged signature', forged, 150, async (f) => {
    const bytes = f === 'stranger-signs'
      ? (await signBlocks(s.stranger, [s.unsigned({ author: s.author.deviceID })]))[0]!.bytes
      : reencode(f as Block)
    await expectNone([{ bytes }], ['rejected'], /signature|proof/)
  })

  // Correctly signed by a device outside the group.
  total += await fuzz(t, 'unknown author', fc.integer({ min: 0, max: 5000 }), 60, async (pages) => {
    const [enc] = await signBlocks(s.stranger, [s.unsigned({ author: s.stranger.deviceID, fields: { pages } })])
    const [gen] = await signBlocks(s.stranger, [s.unsigned({ author: s.stranger.deviceID, doc: undefined, parents: [], height: 1, nonce: new Uint8Array(16).fill(pages & 255), fields: { title: 'x' } })])
    await expectNone([{ bytes: enc!.bytes }, { bytes: gen!.bytes }], ['rejected'], /not a device of this group/)
  })

  // Absurd heights: anything but one above the parents; a genesis block above 1.
  const heights = fc.oneof(fc.constantFrom(1, 2, 4, 2 ** 31, 2 ** 53 - 1), fc.integer({ min: 4, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: -5, max: 0 }))
  total += await fuzz(t, 'absurd height', fc.tuple(heights, fc.boolean()), 150, async ([height, genesis]) => {
    const part: Partial<UnsignedBlock> = genesis
      ? { doc: undefined, parents: [], nonce: new Uint8Array(16).fill(7), fields: { title: 'g' }, height: height === 1 ? 2 : height }
      : { height }
    if (height < 1) {
      // Not signable through signBlocks' checks? It is: the receiver's shape check refuses it.
      const [enc] = await signBlocks(s.author.identity, [s.unsigned(part)])
      await expectNone([{ bytes: enc!.bytes }])
      return
    }
    const [enc] = await signBlocks(s.author.identity, [s.unsigned(part)])
    await expectNone([{ bytes: enc!.bytes }], ['rejected'], /height/)
  })

  // Fields the schema does not allow, signed by a group device.
  const badFields = fc.oneof(
    fc.record({ title: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 })) }),
    fc.record({ pages: fc.oneof(fc.string(), fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(2 ** 60)) }),
    fc.record({ tags: fc.oneof(fc.string(), fc.array(fc.integer(), { minLength: 1, maxLength: 3 }), fc.dictionary(fc.string(), fc.string(), { minKeys: 1 })) }),
    fc.record({ read: fc.oneof(fc.string(), fc.integer(), fc.array(fc.boolean(), { minLength: 1 })) }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !['title', 'pages', 'tags', 'read'].includes(k)), fc.string(), { minKeys: 1, maxKeys: 3 }),
    fc.constant({}), // an update that changes nothing
    fc.record({ _deleted: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) }),
  )
  total += await fuzz(t, 'schema-violating fields', fc.tuple(badFields, fc.boolean()), 250, async ([fields, genesis]) => {
    const part: Partial<UnsignedBlock> = genesis
      ? { doc: undefined, parents: [], height: 1, nonce: new Uint8Array(16).fill(9), fields }
      : { fields }
    const [enc] = await signBlocks(s.author.identity, [s.unsigned(part)])
    await expectNone([{ bytes: enc!.bytes }])
  })
  // A genesis that deletes, or lacks its required field; a block of an unknown collection.
  for (const part of [
    { doc: undefined, parents: [], height: 1, nonce: new Uint8Array(16), fields: { title: 'x', _deleted: true } },
    { doc: undefined, parents: [], height: 1, nonce: new Uint8Array(16), fields: { pages: 1 } },
    { collection: cidOf(new Uint8Array([1])).toString() },
  ] as Array<Partial<UnsignedBlock>>) {
    const [enc] = await signBlocks(s.author.identity, [s.unsigned(part)])
    await expectNone([{ bytes: enc!.bytes }])
  }

  // Links: to a block of another document (rejected), to blocks that never come (they wait,
  // pending, and never apply), and to each other in a ring through blocks that do not exist —
  // content addressing makes a true cycle unconstructible, so a ring can only wait for ever.
  const randomCID = fc.uint8Array({ minLength: 1, maxLength: 32 }).map((b) => cidOf(b))
  total += await fuzz(t, 'cross-document and dangling links', fc.tuple(fc.array(randomCID, { minLength: 1, maxLength: 3 }), fc.boolean()), 100, async ([dangling, cross]) => {
    if (cross) {
      const [enc] = await signBlocks(s.author.identity, [s.unsigned({ parents: [CID.parse(s.head2)], height: 2 })])
      await expectNone([{ bytes: enc!.bytes }], ['rejected'], /another document/)
      return
    }
    const parents = [...new Map(dangling.map((c) => [c.toString(), c])).values()].sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    const [a] = await signBlocks(s.author.identity, [s.unsigned({ parents, height: 7 })])
    const [b] = await signBlocks(s.author.identity, [s.unsigned({ parents: [a!.cid], height: 8 })])
    await expectNone([{ bytes: b!.bytes }, { bytes: a!.bytes }], ['pending'])
  })
  t.diagnostic(`hostile blocks: ${total} cases, none applied`)

  // The victim still takes a good block.
  const [r] = await s.victim.applyBlocks([{ bytes: validBytes }])
  assert.equal(r!.status, 'applied')
  assert.equal((await s.victim.getDocument('Books', s.d1)).fields.pages, 3)
  assert.equal(decodeStoredBlock((await s.victim.getBlock(valid!.id))!).height, 3)
})
