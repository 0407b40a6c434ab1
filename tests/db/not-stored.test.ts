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
