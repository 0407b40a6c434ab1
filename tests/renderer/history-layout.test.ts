/** The history DAG layout: lanes for branches, merges back into the leftmost parent's lane. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { layoutDag } from '../../renderer/src/history/layout.ts'

test('a straight history stays in one lane', () => {
  const { placed, lanes, edges } = layoutDag([{ id: 'a', links: [] }, { id: 'b', links: ['a'] }, { id: 'c', links: ['b'] }])
  assert.equal(lanes, 1)
  assert.deepEqual(placed.map((p) => [p.id, p.row, p.lane]), [['a', 0, 0], ['b', 1, 0], ['c', 2, 0]])
  assert.deepEqual(edges, [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }])
})

test('concurrent edits open a second lane and the merge joins them in the first', () => {
  const { placed, lanes, edges } = layoutDag([
    { id: 'genesis', links: [] },
    { id: 'onA', links: ['genesis'] },
    { id: 'onB', links: ['genesis'] },
    { id: 'merge', links: ['onB', 'onA'] },
    { id: 'after', links: ['merge'] },
  ])
  const lane = Object.fromEntries(placed.map((p) => [p.id, p.lane]))
  assert.equal(lanes, 2)
  assert.equal(lane['onA'], 0)
  assert.equal(lane['onB'], 1)
  assert.equal(lane['merge'], 0)
  assert.equal(lane['after'], 0)
  assert.equal(edges.filter((e) => e.to === 'merge').length, 2)
})

test('a lane freed by a merge is reused by a later branch; unknown parents are ignored', () => {
  const { placed } = layoutDag([
    { id: 'g', links: ['missing'] },
    { id: 'x', links: ['g'] },
    { id: 'y', links: ['g'] },
    { id: 'm', links: ['x', 'y'] },
    { id: 'p', links: ['m'] },
    { id: 'q', links: ['m'] },
  ])
  const lane = Object.fromEntries(placed.map((p) => [p.id, p.lane]))
  assert.equal(lane['g'], 0)
  assert.equal(lane['q'], 1, 'lane 1 was freed by the merge')
})
