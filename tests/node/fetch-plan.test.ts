import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FetchPlan } from '../../main/node/fetch-plan.ts'

const cids = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `c${from + i}`)
/** Whether `p` is still waiting after the event loop has turned once. */
const waiting = async (p: Promise<unknown>): Promise<boolean> => {
  let over = false
  void p.then(() => { over = true })
  await new Promise((resolve) => setImmediate(resolve))
  return !over
}

test('a plan hands out whole chunks first, then what was planned since, and ends once all are taken', async () => {
  const plan = new FetchPlan('s', 4)
  plan.add(cids(0, 3), ['h0'])
  plan.add(cids(3, 2), [])
  plan.add(cids(5, 1), ['h5'])
  assert.deepEqual(await plan.take('A'), { want: cids(0, 5), have: ['h0'] }, 'a whole chunk (it reached 4)')
  assert.deepEqual(await plan.take('A'), { want: cids(5, 1), have: ['h5'] }, 'an idle taker gets the part planned since')
  // Nothing left while the plan is still being made: a taker waits for more.
  const next = plan.take('A')
  plan.add(cids(6, 2), [])
  assert.deepEqual(await next, { want: cids(6, 2), have: [] })
  plan.end()
  plan.add(cids(8, 1), []) // after its end: ignored
  assert.equal(await plan.take('A'), null)
  assert.equal(plan.planned, 8)
})

test('a taker of another sync\'s plan gives up when nothing comes for a while; a failed chunk goes to the next taker', async () => {
  const plan = new FetchPlan('s', 2)
  const t0 = Date.now()
  assert.equal(await plan.take('A', 50), null, 'nothing came')
  assert.ok(Date.now() - t0 >= 45)
  plan.add(cids(0, 2), [])
  const chunk = await plan.take('A', 50)
  assert.deepEqual(chunk, { want: cids(0, 2), have: [] })
  plan.giveBack('A', chunk!)
  assert.deepEqual(await plan.take('B', 50), chunk, 'given back, taken again')
})

test('a plan settles once it has ended and every chunk taken is fetched', async () => {
  const plan = new FetchPlan('s', 1)
  plan.add(['a'], [])
  plan.add(['b'], [])
  await plan.take('A')
  await plan.take('A')
  let settled = false
  const done = plan.settled().then(() => { settled = true })
  plan.end()
  plan.fetched('A')
  await new Promise((r) => setImmediate(r))
  assert.equal(settled, false, 'one chunk is still being fetched')
  plan.fetched('A')
  await done
  assert.equal(settled, true)
})

test('each device first takes a probe; one whose blocks come unattested leaves the rest to the device that wrote them', async () => {
  const plan = new FetchPlan('s', 100, { probeCIDs: 10 })
  for (let i = 0; i < 300; i += 100) plan.add(cids(i, 100), ['h'])
  plan.enter('B'); plan.enter('B')
  plan.enter('A'); plan.enter('A')
  const probeB = await plan.take('B')
  assert.deepEqual(probeB, { want: cids(0, 10), have: ['h'] }, 'a probe of 10, with the heads held here')
  const bLane = plan.take('B')
  assert.ok(await waiting(bLane), 'B\'s other lane waits: what B costs is not known yet, and A shares the plan')
  const probeA = await plan.take('A')
  assert.deepEqual(probeA?.want, cids(10, 10), 'the rest of the chunk stayed first in line')
  // B sent blocks it did not write (each checked here); A wrote all of its own.
  plan.fetched('B', { asked: 10, received: 10, attested: 0, ms: 5 })
  plan.fetched('A', { asked: 10, received: 10, attested: 10, ms: 6 })
  assert.deepEqual((await plan.take('A'))?.want, cids(20, 80), 'A now takes whole chunks')
  assert.deepEqual((await plan.take('A'))?.want, cids(100, 100))
  assert.ok(await waiting(bLane), 'B yields while A has a lane on the plan')
  plan.fetched('A', { asked: 80, received: 80, attested: 80, ms: 20 })
  // A's lanes end (its device gone): B takes what is left.
  plan.leave('A'); plan.leave('A')
  assert.deepEqual(await bLane, { want: cids(200, 100), have: ['h'] })
  plan.end()
  assert.equal(await plan.take('B'), null)
})

test('a device does not yield to one that attests more but answers much slower (a far link)', async () => {
  const plan = new FetchPlan('s', 100, { probeCIDs: 10 })
  for (let i = 0; i < 300; i += 100) plan.add(cids(i, 100), [])
  plan.enter('A'); plan.enter('B')
  await plan.take('A')
  await plan.take('B')
  plan.fetched('A', { asked: 10, received: 10, attested: 10, ms: 300 }) // 30 ms a block
  plan.fetched('B', { asked: 10, received: 10, attested: 0, ms: 10 }) // 1 ms a block
  assert.deepEqual((await plan.take('B'))?.want, cids(20, 80), 'B keeps taking')
  assert.deepEqual((await plan.take('A'))?.want, cids(100, 100), 'and so does A')
  // Neither yields to the other when they cost the same.
  const even = new FetchPlan('s', 100, { probeCIDs: 10 })
  for (let i = 0; i < 300; i += 100) even.add(cids(i, 100), [])
  even.enter('A'); even.enter('B')
  await even.take('A'); await even.take('B')
  even.fetched('A', { asked: 10, received: 10, attested: 10, ms: 10 })
  even.fetched('B', { asked: 10, received: 10, attested: 10, ms: 10 })
  assert.ok((await even.take('A')) !== null && (await even.take('B')) !== null)
})

test('a device alone on a plan keeps both lanes busy from the start', async () => {
  const plan = new FetchPlan('s', 100, { probeCIDs: 10 })
  for (let i = 0; i < 300; i += 100) plan.add(cids(i, 100), [])
  plan.enter('A'); plan.enter('A')
  assert.deepEqual((await plan.take('A'))?.want, cids(0, 10))
  assert.deepEqual((await plan.take('A'))?.want, cids(10, 10), 'the second lane does not wait for the first probe')
  plan.fetched('A', { asked: 10, received: 10, attested: 0, ms: 10 })
  assert.deepEqual((await plan.take('A'))?.want, cids(20, 80), 'then whole chunks')
})

test('a device stops yielding to one that has stalled (a chunk out for long with nothing arriving)', async () => {
  const plan = new FetchPlan('s', 100, { probeCIDs: 10, stalledMs: 100 })
  for (let i = 0; i < 300; i += 100) plan.add(cids(i, 100), [])
  plan.enter('A'); plan.enter('B')
  await plan.take('A'); await plan.take('B')
  plan.fetched('A', { asked: 10, received: 10, attested: 10, ms: 10 })
  plan.fetched('B', { asked: 10, received: 10, attested: 0, ms: 10 })
  assert.deepEqual((await plan.take('A'))?.want, cids(20, 80), 'A takes a chunk, and nothing more arrives from it')
  const t0 = performance.now()
  const bLane = plan.take('B')
  assert.ok(await waiting(bLane), 'B yields at first')
  assert.deepEqual((await bLane)?.want, cids(100, 100), 'then takes the next chunk itself')
  assert.ok(performance.now() - t0 >= 90, 'once A had its chunk out for the stall time')
})

test('a device whose cost is known waits for another device\'s probe, unless it attested everything itself', async () => {
  const plan = new FetchPlan('s', 100, { probeCIDs: 10 })
  for (let i = 0; i < 300; i += 100) plan.add(cids(i, 100), [])
  plan.enter('B')
  await plan.take('B')
  plan.fetched('B', { asked: 10, received: 10, attested: 0, ms: 10 })
  plan.enter('A') // A's sync joins; its probe goes out
  assert.deepEqual((await plan.take('A'))?.want, cids(10, 10))
  const bLane = plan.take('B')
  assert.ok(await waiting(bLane), 'B waits: A may turn out cheaper')
  plan.fetched('A', { asked: 10, received: 10, attested: 10, ms: 10 })
  assert.ok(await waiting(bLane), 'and it did: B yields to it')
  plan.leave('A')
  assert.deepEqual((await bLane)?.want, cids(20, 80))

  // A device that attested all it sent has nobody clearly cheaper to wait for.
  const own = new FetchPlan('s', 100, { probeCIDs: 10 })
  for (let i = 0; i < 300; i += 100) own.add(cids(i, 100), [])
  own.enter('A')
  await own.take('A')
  own.fetched('A', { asked: 10, received: 10, attested: 10, ms: 10 })
  own.enter('B')
  assert.deepEqual((await own.take('B'))?.want, cids(10, 10), 'B\'s probe')
  assert.deepEqual((await own.take('A'))?.want, cids(20, 80), 'A does not wait for it')
})

test('a device that sent nothing of its probe (it lacks those blocks) is not waited for, and yields to the author', async () => {
  const plan = new FetchPlan('s', 100, { probeCIDs: 10 })
  for (let i = 0; i < 300; i += 100) plan.add(cids(i, 100), [])
  plan.enter('A'); plan.enter('B')
  await plan.take('A')
  plan.fetched('A', { asked: 10, received: 10, attested: 10, ms: 10 })
  await plan.take('B')
  plan.fetched('B', { asked: 10, received: 0, attested: 0, ms: 2 })
  const bLane = plan.take('B')
  assert.ok(await waiting(bLane), 'B yields to A')
  plan.enter('C') // C's probe goes out
  assert.deepEqual((await plan.take('C'))?.want, cids(20, 10))
  assert.deepEqual((await plan.take('A'))?.want, cids(30, 70), 'A (attested all) waits for nobody\'s probe')
  plan.leave('A')
  plan.fetched('C', { asked: 10, received: 0, attested: 0, ms: 2 })
  assert.deepEqual((await bLane)?.want, cids(100, 100), 'with A gone, B takes again')
})

test('what a device said it lacks goes back for another device, never to it again', async () => {
  const plan = new FetchPlan('s', 10)
  plan.add(cids(0, 10), ['h'])
  plan.add(cids(10, 10), [])
  const bChunk = await plan.take('B')
  assert.deepEqual(bChunk?.want, cids(0, 10))
  plan.lacking('B', bChunk!, ['c3', 'c7'])
  plan.fetched('B', { asked: 10, received: 8, attested: 0, ms: 5 })
  assert.deepEqual((await plan.take('B'))?.want, cids(10, 10), 'B skips what it lacks')
  plan.fetched('B')
  plan.end()
  assert.equal(await plan.take('B'), null, 'nothing left that B may take: over for B')
  const aChunk = await plan.take('A')
  assert.deepEqual(aChunk, { want: ['c3', 'c7'], have: ['h'], lackedBy: new Set(['B']) }, 'A takes it, with the heads held here')
  plan.lacking('A', aChunk!, ['c7'])
  plan.fetched('A')
  assert.equal(await plan.take('A'), null)
  assert.equal(await plan.take('B'), null, 'c7: lacked by both, left for a later sync')
  assert.deepEqual((await plan.take('C'))?.want, ['c7'], 'a third device may still take it')
})

test('a plan is not settled while a device with a lane on it may still take what another lacked', async () => {
  const plan = new FetchPlan('s', 10)
  plan.add(cids(0, 10), [])
  plan.end()
  plan.enter('A'); plan.enter('B')
  const chunk = await plan.take('B')
  let settled = false
  const done = plan.settled().then(() => { settled = true })
  plan.lacking('B', chunk!, ['c1', 'c2'])
  plan.fetched('B')
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(settled, false, 'A may still take c1 and c2')
  assert.deepEqual((await plan.take('A'))?.want, ['c1', 'c2'])
  plan.fetched('A')
  await done
  assert.equal(settled, true)
  // Lacked by every device with a lane: left, and the plan settles.
  const left = new FetchPlan('s', 10)
  left.add(cids(0, 10), [])
  left.end()
  left.enter('B')
  const c = await left.take('B')
  left.lacking('B', c!, ['c3'])
  left.fetched('B')
  await left.settled()
})
