import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BlockMetaCache } from '../../main/db/apply.ts'

// Receiving a block that is remembered as not stored skips the store's read (database.ts), so a
// fact learned before a commit must never outlive a commit that stored the block.
test('a block learned absent by a read that a commit overtook is not remembered as absent', () => {
  const metas = new BlockMetaCache()
  const before = metas.generation()
  metas.notePending(['x']) // a commit wrote x while the read was out
  metas.noteNotStored(['x', 'y'], before)
  assert.equal(metas.isNotStored('x'), false)
  assert.equal(metas.isNotStored('y'), true)
  // Too many commits since the read to tell which blocks they wrote: nothing is remembered.
  const older = metas.generation()
  for (let i = 0; i < 70; i++) metas.notePending([`p${i}`])
  metas.noteNotStored(['z'], older)
  assert.equal(metas.isNotStored('z'), false)
  // Learned now, nothing committed since: remembered.
  metas.noteNotStored(['z'], metas.generation())
  assert.equal(metas.isNotStored('z'), true)
})

test('after large commits, what they wrote is still known for the last few of them, and nothing older is guessed', () => {
  const metas = new BlockMetaCache()
  const big = (g: number): string[] => Array.from({ length: 3000 }, (_, i) => `g${g}-${i}`)
  const start = metas.generation()
  for (let g = 0; g < 4; g++) metas.notePending(big(g))
  // Four commits of 3000 blocks (12k): all still answered.
  const since = metas.writtenSince(start)
  assert.ok(since !== null)
  assert.equal(since.has('g0-5'), true)
  assert.equal(since.has('g3-2999'), true)
  assert.equal(since.has('other'), false)
  // Ten of them (30k blocks): the oldest commits are let go, so a check from before them reads the store.
  for (let g = 4; g < 10; g++) metas.notePending(big(g))
  assert.equal(metas.writtenSince(start), null)
  metas.noteNotStored(['g0-5', 'fresh'], start)
  assert.equal(metas.isNotStored('g0-5'), false, 'written by a commit that is no longer tracked: never guessed absent')
  assert.equal(metas.isNotStored('fresh'), false)
  // A check from two commits ago still knows what they wrote.
  const recent = metas.generation() - 2
  const s2 = metas.writtenSince(recent)
  assert.ok(s2 !== null)
  assert.equal(s2.has('g9-7'), true)
  assert.equal(s2.has('g7-7'), false)
})

test('what commits wrote since a generation is known over one commit, a few, and many, and nothing from before it', () => {
  const metas = new BlockMetaCache()
  const start = metas.generation()
  metas.notePending(['a'])
  assert.equal(metas.writtenSince(start)!.has('a'), true)
  metas.notePending(['b', 'c'])
  metas.notePending(['d'])
  const three = metas.writtenSince(start)!
  for (const cid of ['a', 'b', 'c', 'd']) assert.equal(three.has(cid), true, cid)
  assert.equal(three.has('e'), false)
  const mid = metas.generation()
  for (let i = 0; i < 6; i++) metas.notePending([`m${i}`])
  // Nine commits since `start`: gathered into one set.
  const many = metas.writtenSince(start)!
  for (const cid of ['a', 'c', 'd', 'm0', 'm5']) assert.equal(many.has(cid), true, cid)
  assert.equal(many.has('e'), false)
  // Six since `mid`: what was written before it is not named.
  const since = metas.writtenSince(mid)!
  assert.equal(since.has('d'), false)
  assert.equal(since.has('m0'), true)
  assert.equal(since.has('m5'), true)
  const last = metas.generation()
  metas.notePending(['z'])
  assert.equal(metas.writtenSince(last)!.has('m5'), false)
  assert.equal(metas.writtenSince(last)!.has('z'), true)
})
