import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FetchPlan } from '../../main/node/fetch-plan.ts'

const cids = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `c${from + i}`)

test('a plan hands out whole chunks first, then what was planned since, and ends once all are taken', async () => {
  const plan = new FetchPlan('s', 4)
  plan.add(cids(0, 3), ['h0'])
  plan.add(cids(3, 2), [])
  plan.add(cids(5, 1), ['h5'])
  assert.deepEqual(await plan.take(), { want: cids(0, 5), have: ['h0'] }, 'a whole chunk (it reached 4)')
  assert.deepEqual(await plan.take(), { want: cids(5, 1), have: ['h5'] }, 'an idle taker gets the part planned since')
  // Nothing left while the plan is still being made: a taker waits for more.
  const waiting = plan.take()
  plan.add(cids(6, 2), [])
  assert.deepEqual(await waiting, { want: cids(6, 2), have: [] })
  plan.end()
  plan.add(cids(8, 1), []) // after its end: ignored
  assert.equal(await plan.take(), null)
  assert.equal(plan.planned, 8)
})

test('a taker of another sync\'s plan gives up when nothing comes for a while; a failed chunk goes to the next taker', async () => {
  const plan = new FetchPlan('s', 2)
  const t0 = Date.now()
  assert.equal(await plan.take(50), null, 'nothing came')
  assert.ok(Date.now() - t0 >= 45)
  plan.add(cids(0, 2), [])
  const chunk = await plan.take(50)
  assert.deepEqual(chunk, { want: cids(0, 2), have: [] })
  plan.giveBack(chunk!)
  assert.deepEqual(await plan.take(50), chunk, 'given back, taken again')
})

test('a plan settles once it has ended and every chunk taken is fetched', async () => {
  const plan = new FetchPlan('s', 1)
  plan.add(['a'], [])
  plan.add(['b'], [])
  await plan.take()
  await plan.take()
  let settled = false
  const done = plan.settled().then(() => { settled = true })
  plan.end()
  plan.fetched()
  await new Promise((r) => setImmediate(r))
  assert.equal(settled, false, 'one chunk is still being fetched')
  plan.fetched()
  await done
  assert.equal(settled, true)
})
