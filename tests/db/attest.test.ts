/**
 * Frame attestations (db/attest.ts): a sender's one signature over the CIDs of a frame stands for
 * the signatures of the blocks it wrote itself, and for nothing else.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { Database } from '../../main/db/database.ts'
import { decodeStoredBlock } from '../../main/db/block.ts'
import { cidOf, cidString } from '../../main/db/cid.ts'
import { attestFrame, checkAttestation } from '../../main/db/attest.ts'
import { loadOrCreateIdentity } from '../../main/db/identity.ts'
import { tempDir } from '../helpers/tmp.ts'
import { allBlocks } from '../helpers/replicas.ts'

const BOOKS = 'type Books { title: String! pages: Int }'

async function open(t: Parameters<typeof tempDir>[0]): Promise<Database> {
  const db = await Database.open(await tempDir(t))
  t.after(() => db.close())
  await db.addCollections(BOOKS)
  return db
}

/** A copy of a block with one bit of its signature flipped (a new CID: canonical bytes of a block whose signature is wrong). */
function badSignature(bytes: Uint8Array): Uint8Array {
  const block = decodeStoredBlock(bytes)
  const s = Uint8Array.from(block.sig.s)
  s[7]! ^= 1
  return dagCbor.encode({ ...block, sig: { ...block.sig, s } })
}

const idOf = (bytes: Uint8Array): string => cidString(cidOf(bytes).bytes)

/** Five single edits by `a` (a signature each), one good and one badly signed block by `c`, and `a`'s own badly signed block. */
async function frame(t: Parameters<typeof tempDir>[0]) {
  const a = await open(t)
  const c = await open(t)
  for (let i = 0; i < 5; i++) await a.createDocument('Books', { title: `a ${i}` })
  await c.createDocument('Books', { title: 'c good' })
  await c.createDocument('Books', { title: 'c forged' })
  const aBlocks = (await allBlocks(a)).map((x) => x.bytes)
  const [cGood, cOther] = (await allBlocks(c)).map((x) => x.bytes) as [Uint8Array, Uint8Array]
  const aBad = badSignature(aBlocks.pop()!)
  const cBad = badSignature(cOther)
  const blocks = [...aBlocks, cGood, cBad, aBad]
  return { a, c, blocks, ids: blocks.map(idOf), aBad, cBad }
}

test('an attested frame: the sender\'s own blocks need no signature check of their own; other authors\' blocks still do', async (t) => {
  const { a, blocks, ids, aBad, cBad } = await frame(t)
  const b = await open(t)
  const attestation = await a.attest(ids)
  assert.ok(checkAttestation(a.deviceID, ids, attestation))
  const results = await b.applyBlocks(blocks.map((bytes) => ({ bytes })), { from: a.deviceID, attestation })
  const status = new Map(results.map((r, i) => [blocks[i]!, r]))
  // c's badly signed block is refused even inside a's attested frame: a vouches for its own blocks only.
  assert.equal(status.get(cBad)!.status, 'rejected')
  assert.match(status.get(cBad)!.reason!, /signature is not/)
  // a's own block is taken on a's attestation, the signature a made over exactly its CID.
  assert.equal(status.get(aBad)!.status, 'applied')
  assert.equal(results.filter((r) => r.status === 'applied').length, blocks.length - 1)
  assert.equal((await b.listDocuments('Books', { limit: 0 })).total, 4 + 1 + 1)
})

test('a frame whose attestation does not hold is checked block by block, as without one', async (t) => {
  const { a, blocks, ids, aBad, cBad } = await frame(t)
  const mallory = await loadOrCreateIdentity(await tempDir(t))
  const forgeries: Array<[string, Uint8Array]> = [
    ['signed by another key', await attestFrame(mallory, ids)],
    ['over other CIDs', await a.attest(ids.slice(1))],
    ['over the CIDs in another order', await a.attest([...ids].reverse())],
    ['cut short', (await a.attest(ids)).subarray(0, 63)],
    ['not a signature', new Uint8Array(64)],
  ]
  for (const [what, attestation] of forgeries) {
    const b = await open(t)
    const results = await b.applyBlocks(blocks.map((bytes) => ({ bytes })), { from: a.deviceID, attestation })
    const rejected = results.flatMap((r, i) => r.status === 'rejected' ? [blocks[i]] : [])
    assert.deepEqual(rejected, [cBad, aBad], `attestation ${what}`)
    assert.equal(results.filter((r) => r.status === 'applied').length, blocks.length - 2, `attestation ${what}`)
  }
  // Named as sent by someone else than its signer: not a's frame.
  const b = await open(t)
  const results = await b.applyBlocks(blocks.map((bytes) => ({ bytes })), { from: (await open(t)).deviceID, attestation: await a.attest(ids) })
  assert.equal(results.filter((r) => r.status === 'rejected').length, 2)
})

test('a tampered block in an attested frame changes its CID: the attestation fails and the block is refused', async (t) => {
  const { a, blocks, ids } = await frame(t)
  const attestation = await a.attest(ids)
  const tampered = Buffer.from(Buffer.from(blocks[0]!).toString('latin1').replace(/a [0-4]/, 'a Z'), 'latin1')
  assert.notDeepEqual(tampered, Buffer.from(blocks[0]!))
  const b = await open(t)
  const results = await b.applyBlocks([{ bytes: tampered }, ...blocks.slice(1).map((bytes) => ({ bytes }))], { from: a.deviceID, attestation })
  assert.equal(results[0]!.status, 'rejected')
  assert.match(results[0]!.reason!, /signature/)
  assert.equal(results.filter((r) => r.status === 'rejected').length, 3) // and c's and a's badly signed blocks
})
