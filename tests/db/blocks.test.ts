import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { Database, storeOf } from '../../main/db/database.ts'
import { bucketKey, bucketOf } from '../../main/db/digest.ts'
import { BLOCK_VERSION, blockLinks, decodeStoredBlock, newNonces, signBlocks, verifyBlock, type UnsignedBlock } from '../../main/db/block.ts'
import { loadOrCreateIdentity } from '../../main/db/identity.ts'
import { isTandemError } from '../../shared/errors.ts'
import { firstVersionID } from '../../main/db/versions.ts'
import type { CollectionID, DeviceID } from '../../shared/types.ts'
import { tempDir } from '../helpers/tmp.ts'
import { allBlocks, visibleState } from '../helpers/replicas.ts'

const BOOKS = 'type Books { title: String! pages: Int }'

async function pair(t: Parameters<typeof tempDir>[0], trust?: (a: DeviceID) => boolean) {
  const a = await Database.open(await tempDir(t))
  const b = await Database.open(await tempDir(t), trust ? { isTrustedAuthor: trust } : {})
  t.after(async () => { await a.close(); await b.close() })
  await a.addCollections(BOOKS)
  await b.addCollections(BOOKS)
  return { a, b }
}

test('blocks from another device apply and give the same document', async (t) => {
  const { a, b } = await pair(t)
  const id = await a.createDocument('Books', { title: 'Dune' })
  await a.updateDocument('Books', id, { pages: 412 })
  const results = await b.applyBlocks(await allBlocks(a))
  assert.deepEqual(results.map((r) => r.status), ['applied', 'applied'])
  assert.deepEqual(await visibleState(b, 'Books'), await visibleState(a, 'Books'))
  const again = await b.applyBlocks(await allBlocks(a))
  assert.deepEqual(again.map((r) => r.status), ['duplicate', 'duplicate'])
})

test('a child that arrives before its parent waits, persisted, and applies when the parent comes', async (t) => {
  const { a } = await pair(t)
  const dir = await tempDir(t)
  let b = await Database.open(dir)
  await b.addCollections(BOOKS)
  const id = await a.createDocument('Books', { title: 'Dune' })
  await a.updateDocument('Books', id, { pages: 1 })
  await a.updateDocument('Books', id, { pages: 2 })
  const [genesis, second, third] = await a.history('Books', id)
  const bytes = async (cid: string) => ({ cid, bytes: (await a.getBlock(cid))! })
  assert.deepEqual((await b.applyBlocks([await bytes(third!.cid)])).map((r) => r.status), ['pending'])
  assert.deepEqual((await b.applyBlocks([await bytes(second!.cid)])).map((r) => r.status), ['pending'])
  await assert.rejects(b.getDocument('Books', id), (e) => isTandemError(e, 'NOT_FOUND'))
  // Pending blocks are known as such (held, not stored): asked for, or received again.
  const all = [genesis!.cid, second!.cid, third!.cid]
  const again = async (...cids: string[]) => (await b.applyBlocks(await Promise.all(cids.map(bytes)))).map((r) => r.status)
  assert.deepEqual(await b.hasBlocks(all), [false, true, true])
  assert.deepEqual(await again(third!.cid, second!.cid, third!.cid), ['pending', 'pending', 'pending'])
  await b.close() // the pending set survives a restart
  b = await Database.open(dir)
  t.after(() => b.close())
  assert.equal((await b.pendingBlocks()).length, 2)
  assert.deepEqual(await b.hasBlocks(all), [false, true, true])
  assert.equal(await b.hasBlock(third!.cid), true)
  assert.deepEqual(await again(second!.cid, third!.cid, second!.cid), ['pending', 'pending', 'pending'])
  const changes: string[][] = []
  b.on('change', (ev) => changes.push(ev.cids))
  assert.deepEqual((await b.applyBlocks([await bytes(genesis!.cid)])).map((r) => r.status), ['applied'])
  assert.equal((await b.getDocument('Books', id)).fields.pages, 2)
  assert.deepEqual(await b.pendingBlocks(), [])
  assert.deepEqual(changes, [[genesis!.cid, second!.cid, third!.cid]])
  // Applied now: stored, no longer pending.
  assert.deepEqual(await b.hasBlocks(all), [true, true, true])
  assert.deepEqual(await again(third!.cid, second!.cid, genesis!.cid), ['duplicate', 'duplicate', 'duplicate'])
  assert.deepEqual(await again(third!.cid), ['duplicate'])
})

test('tampered bytes, a wrong CID and a forged signature are rejected and nothing is applied', async (t) => {
  const { a, b } = await pair(t)
  const id = await a.createDocument('Books', { title: 'Dune' })
  const [{ cid, bytes }] = await allBlocks(a) as [{ cid: string; bytes: Uint8Array }]
  const text = Buffer.from(bytes).toString('latin1')
  const tampered = Buffer.from(text.replace('Dune', 'Dunk'), 'latin1')
  assert.notDeepEqual(tampered, Buffer.from(bytes))

  let [r] = await b.applyBlocks([{ bytes: tampered }])
  assert.equal(r!.status, 'rejected')
  assert.match(r!.reason!, /signature/)
  ;[r] = await b.applyBlocks([{ bytes: tampered, cid }])
  assert.equal(r!.status, 'rejected')
  assert.match(r!.reason!, /hash to .* not to/)
  ;[r] = await b.applyBlocks([{ bytes: bytes.subarray(0, bytes.length - 3) }])
  assert.match(r!.reason!, /invalid block: not dag-cbor/)
  ;[r] = await b.applyBlocks([{ bytes: dagCbor.encode({ hello: 'world' }) }])
  assert.match(r!.reason!, /unknown key "hello"/)

  // Someone else signs a block that claims to be a's.
  const mallory = await loadOrCreateIdentity(await tempDir(t))
  const original = decodeStoredBlock(bytes)
  const [forged] = await signBlocks({ ...mallory, deviceID: a.deviceID }, [{ ...original, fields: { title: 'Forged' } }])
  ;[r] = await b.applyBlocks([{ bytes: forged!.bytes }])
  assert.equal(r!.status, 'rejected')
  assert.match(r!.reason!, /signature is not/)

  const rejected: string[] = []
  b.on('rejected', (ev) => rejected.push(ev.reason))
  await b.applyBlocks([{ bytes: tampered }])
  assert.equal(rejected.length, 1, 'every rejection is reported with its reason')
  assert.equal((await allBlocks(b)).length, 0)
  await assert.rejects(b.getDocument('Books', id), (e) => isTandemError(e, 'NOT_FOUND'))
})

test('blocks by authors outside the trusted set are rejected', async (t) => {
  const { a, b } = await pair(t, () => false)
  await a.createDocument('Books', { title: 'Dune' })
  const [r] = await b.applyBlocks(await allBlocks(a))
  assert.equal(r!.status, 'rejected')
  assert.match(r!.reason!, /not a device of this group/)
})

test('schema-violating, wrong-height and cross-document blocks are rejected', async (t) => {
  const { a, b } = await pair(t)
  const me = a.identity
  const col = (await a.getCollection('Books')).id
  const base = (part: Partial<UnsignedBlock>): UnsignedBlock => ({
    v: BLOCK_VERSION, collection: col, schema: firstVersionID(col), parents: [], height: 1, fields: { title: 'ok' },
    author: me.deviceID, time: 1, nonce: newNonces(1)[0]!, ...part,
  })
  const status = async (block: UnsignedBlock) => {
    const [enc] = await signBlocks(me, [block])
    const [r] = await b.applyBlocks([{ bytes: enc!.bytes }])
    return r!
  }
  assert.match((await status(base({ fields: { title: 7 } }))).reason!, /Books\.title must be text/)
  assert.match((await status(base({ fields: { pages: 3 } }))).reason!, /needs a value for "title"/)
  assert.match((await status(base({ fields: { title: 'x', isbn: '1' } }))).reason!, /no field "isbn"/)
  assert.match((await status(base({ height: 2 }))).reason!, /genesis block has height 1/)
  assert.match((await status(base({ collection: 'bafyreihzr5e4ywzerlhbkntdtno4koqfrswlxrhmofrzlni5yqgfui62oa' as CollectionID }))).reason!, /unknown collection/)

  const id1 = await a.createDocument('Books', { title: 'one' })
  const id2 = await a.createDocument('Books', { title: 'two' })
  await b.applyBlocks(await allBlocks(a))
  const head1 = CID.parse((await a.getDocument('Books', id1)).heads[0]!)
  const { nonce: _n, ...noNonce } = base({})
  assert.match((await status({ ...noNonce, doc: id1, parents: [head1], height: 5, fields: { pages: 1 } })).reason!, /height 5 should be 2/)
  assert.match((await status({ ...noNonce, doc: id2, parents: [head1], height: 2, fields: { pages: 1 } })).reason!, /another document/)
  assert.match((await status({ ...noNonce, doc: id1, parents: [head1], height: 2, fields: { title: null } })).reason!, /cannot be empty/)
  assert.equal((await status({ ...noNonce, doc: id1, parents: [head1], height: 2, fields: { pages: 1 } })).status, 'applied')
  assert.equal((await b.getDocument('Books', id1)).fields.pages, 1)
  assert.equal((await b.getDocument('Books', id2)).fields.pages, null)
})

test('one signature covers a bulk create, and every block of it verifies alone', async (t) => {
  const { a } = await pair(t)
  await a.createDocuments('Books', Array.from({ length: 100 }, (_, i) => ({ title: `t${i}` })))
  const blocks = await allBlocks(a)
  assert.equal(blocks.length, 100)
  const sigs = new Set(blocks.map((b) => Buffer.from(decodeStoredBlock(b.bytes).sig.s).toString('hex')))
  assert.ok(sigs.size <= 4, `100 blocks share ${sigs.size} signatures`)
  for (const b of blocks) {
    const enc = await verifyBlock(b.bytes, b.cid)
    assert.equal(enc.cid.toString(), b.cid)
  }
  // Moving a proof to another block of the batch breaks that block's signature.
  const x = decodeStoredBlock(blocks[0]!.bytes)
  const y = decodeStoredBlock(blocks[1]!.bytes)
  const swapped = dagCbor.encode({ ...x, sig: y.sig })
  await assert.rejects(verifyBlock(swapped), (e) => isTandemError(e, 'BAD_SIGNATURE'))
})

test('a batch of many signatures is checked block by block: a moved proof and a changed signature are refused, the rest apply', async (t) => {
  const { a, b } = await pair(t)
  await a.createDocuments('Books', Array.from({ length: 64 }, (_, i) => ({ title: `bulk ${i}` }))) // one signature, 64 proofs
  for (let i = 0; i < 8; i++) await a.createDocument('Books', { title: `alone ${i}` }) // a signature each
  const blocks = (await allBlocks(a)).map((x) => ({ ...x, block: decodeStoredBlock(x.bytes) }))
  const bulk = blocks.filter((x) => x.block.sig.p.length > 0)
  const alone = blocks.filter((x) => x.block.sig.p.length === 0)
  assert.equal(bulk.length, 64)
  assert.equal(alone.length, 8)
  const movedProof = dagCbor.encode({ ...bulk[5]!.block, sig: bulk[6]!.block.sig })
  const s = Uint8Array.from(alone[3]!.block.sig.s)
  s[10]! ^= 1
  const changedSig = dagCbor.encode({ ...alone[3]!.block, sig: { ...alone[3]!.block.sig, s } })
  const batch = [...bulk.filter((_, i) => i !== 5), ...alone.filter((_, i) => i !== 3)].map((x) => ({ bytes: x.bytes }))
  batch.splice(20, 0, { bytes: movedProof })
  batch.push({ bytes: changedSig })
  const results = await b.applyBlocks(batch)
  const refused = results.filter((r) => r.status === 'rejected')
  assert.equal(refused.length, 2)
  for (const r of refused) assert.match(r.reason!, /signature/)
  assert.equal(results.filter((r) => r.status === 'applied').length, batch.length - 2)
  assert.equal((await b.listDocuments('Books', { limit: 0 })).total, 64 + 8 - 2)
  // Again, now that the batch's true root is known to be signed: the moved proof still is not.
  const again = await b.applyBlocks([{ bytes: movedProof }, { bytes: changedSig }, ...alone.slice(0, 2).map((x) => ({ bytes: x.bytes }))])
  assert.deepEqual(again.map((r) => r.status), ['rejected', 'rejected', 'duplicate', 'duplicate'])
})

test('blocks of several signed batches arriving interleaved, as a catch-up sends them, apply; one whose proof was changed above its first step is refused', async (t) => {
  const { a, b } = await pair(t)
  await a.createDocuments('Books', Array.from({ length: 192 }, (_, i) => ({ title: `bulk ${i}` }))) // three signatures, 64 proofs each
  // By CID, not in the order written: each frame holds a few blocks of each batch, as a fresh device gets them by docID.
  const blocks = (await allBlocks(a)).map((x) => ({ ...x, block: decodeStoredBlock(x.bytes) })).sort((x, y) => (x.cid < y.cid ? -1 : 1))
  assert.equal(new Set(blocks.map((x) => Buffer.from(x.block.sig.s).toString('hex'))).size, 3)
  // A block whose last sibling (the one nearest the root) is changed: every step of its proof but
  // the last is its batch-mates' too, and the root it leads to is not the signed one.
  const victim = blocks[40]!
  const p = Uint8Array.from(victim.block.sig.p)
  p[p.length - 1]! ^= 1
  const changed = dagCbor.encode({ ...victim.block, sig: { ...victim.block.sig, p } })
  const rest = blocks.filter((x) => x !== victim).map((x) => ({ bytes: x.bytes }))
  const first = await b.applyBlocks([...rest.slice(0, 100), { bytes: changed }])
  const second = await b.applyBlocks(rest.slice(100))
  assert.equal(first.at(-1)!.status, 'rejected')
  assert.match(first.at(-1)!.reason!, /signature/)
  assert.ok([...first.slice(0, -1), ...second].every((r) => r.status === 'applied'))
  assert.equal((await b.listDocuments('Books', { limit: 0 })).total, 191)
  // The true block still applies after its changed copy was refused.
  assert.deepEqual((await b.applyBlocks([{ bytes: victim.bytes }])).map((r) => r.status), ['applied'])
})

test('blockLinks reads the height and parents of a stored block as a full decode does', async (t) => {
  const { a, b } = await pair(t)
  const id = await a.createDocument('Books', { title: 'Dune', pages: 412 })
  await a.updateDocument('Books', id, { pages: 413 })
  await b.applyBlocks(await allBlocks(a))
  await b.updateDocument('Books', id, { title: 'Dune (B)' })
  await a.updateDocument('Books', id, { title: 'Dune (A)' })
  await a.applyBlocks(await allBlocks(b)) // two heads now
  await a.updateDocument('Books', id, { pages: 1 }) // a merge block with two parents
  const blocks = await allBlocks(a)
  assert.ok(blocks.some(({ bytes }) => decodeStoredBlock(bytes).parents.length === 2), 'a block with two parents')
  for (const { bytes } of blocks) {
    const full = decodeStoredBlock(bytes)
    assert.deepEqual(blockLinks(bytes), { height: full.height, parents: full.parents.map((p) => p.toString()), collection: full.collection })
  }
})

test('heads planned as lacking are received without a read, and once applied are duplicates again: an update is never undone', async (t) => {
  const { a, b } = await pair(t)
  const books = (await a.getCollection('Books')).id
  const ids = [await a.createDocument('Books', { title: 'Dune' }), await a.createDocument('Books', { title: 'Emma' }), await a.createDocument('Books', { title: 'Ulysses' })]
  const genesis = await Promise.all(ids.map(async (id) => (await a.getDocument('Books', id)).heads[0]!))
  const bytes = async (cid: string) => ({ cid, bytes: (await a.getBlock(cid))! })
  // B plans a sync: it holds none of the documents, so every head is lacking (and known absent).
  const planned = await b.headsToFetch(books, ids.map((docID, i) => ({ docID, heads: [genesis[i]!] })))
  assert.deepEqual(planned, genesis.map((g) => ({ lacking: [g], ours: [] })))
  assert.deepEqual(await b.storedBlocks(genesis), [false, false, false])
  assert.deepEqual((await b.applyBlocks(await Promise.all(genesis.map(bytes)))).map((r) => r.status), ['applied', 'applied', 'applied'])
  assert.deepEqual(await b.storedBlocks(genesis), [true, true, true])
  // An update on A reaches B; then the genesis blocks come again (another peer, a retry).
  await a.updateDocument('Books', ids[0]!, { pages: 412 })
  const update = (await a.getDocument('Books', ids[0]!)).heads[0]!
  assert.deepEqual((await b.applyBlocks([await bytes(update)])).map((r) => r.status), ['applied'])
  assert.deepEqual((await b.applyBlocks(await Promise.all(genesis.map(bytes)))).map((r) => r.status), ['duplicate', 'duplicate', 'duplicate'])
  assert.equal((await b.getDocument('Books', ids[0]!)).fields.pages, 412)
  // Planned again now: the document is here with the same head, so nothing is lacking.
  assert.deepEqual((await b.headsToFetch(books, [{ docID: ids[0]!, heads: [update] }])).map((p) => p.lacking), [[]])
  // A head B does not hold of a document it holds (an edit it has not seen) is lacking.
  await a.updateDocument('Books', ids[1]!, { pages: 1 })
  const unseen = (await a.getDocument('Books', ids[1]!)).heads[0]!
  assert.deepEqual(await b.headsToFetch(books, [{ docID: ids[1]!, heads: [unseen] }]), [{ lacking: [unseen], ours: [genesis[1]!] }])
  // And a head B holds that is older than its own (the peer is behind) is not.
  assert.deepEqual((await b.headsToFetch(books, [{ docID: ids[0]!, heads: [genesis[0]!] }])).map((p) => p.lacking), [[]])
  // A peer's word is not taken for a fact: it names, as the head of a document B does not hold,
  // the first block of one B does hold. B looks it up, finds it, and still knows it holds it.
  const claimed = await b.headsToFetch(books, [{ docID: `bae-${update}`, heads: [genesis[0]!] }])
  assert.deepEqual(claimed.map((p) => p.lacking), [[]])
  assert.deepEqual((await b.applyBlocks(await Promise.all(genesis.map(bytes)))).map((r) => r.status), ['duplicate', 'duplicate', 'duplicate'])
  assert.equal((await b.getDocument('Books', ids[0]!)).fields.pages, 412)
})

test('planning many documents skips the reads of buckets with no record here, and sees what commits and a cancelled-out digest hold', async (t) => {
  const { a } = await pair(t)
  const dir = await tempDir(t)
  let b = await Database.open(dir)
  t.after(async () => { await b.close() })
  await b.addCollections(BOOKS)
  const books = (await a.getCollection('Books')).id
  const ids = await a.createDocuments('Books', Array.from({ length: 300 }, (_, i) => ({ title: `Book ${i}` })))
  const heads = await Promise.all(ids.map(async (id) => (await a.getDocument('Books', id)).heads[0]!))
  const frame = ids.map((docID, i) => ({ docID, heads: [heads[i]!] }))
  // Nothing here yet: every head is lacking (every bucket is found empty by one look).
  assert.deepEqual(await b.headsToFetch(books, frame), heads.map((h) => ({ lacking: [h], ours: [] })))
  // Half of the documents arrive: their buckets, found empty before, now hold records.
  const half = new Set(ids.slice(0, 150))
  const blocks = await Promise.all(ids.slice(0, 150).map(async (_, i) => ({ bytes: (await a.getBlock(heads[i]!))! })))
  assert.ok((await b.applyBlocks(blocks)).every((r) => r.status === 'applied'))
  const expected = ids.map((docID, i) => (half.has(docID) ? { lacking: [], ours: [heads[i]!] } : { lacking: [heads[i]!], ours: [] }))
  assert.deepEqual(await b.headsToFetch(books, frame), expected)
  // A bucket whose digest is all zeros while it holds records (heads whose hashes cancel out, which
  // a device could arrange) is still looked at, not taken for empty.
  const bucket = bucketOf(ids[0]!)
  await b.close()
  const raw = await Database.open(dir)
  await storeOf(raw).digests.put(`${books}!${bucketKey(bucket)}`, new Uint8Array(32))
  await raw.close()
  b = await Database.open(dir)
  assert.deepEqual(await b.headsToFetch(books, frame), expected)
  // And its blocks, planned again, are still known here: receiving them changes nothing.
  assert.deepEqual((await b.applyBlocks(blocks.slice(0, 3))).map((r) => r.status), ['duplicate', 'duplicate', 'duplicate'])
})
