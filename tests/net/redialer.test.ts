/**
 * The Redialer (main/net/redialer.ts) that redials the node's devices and the relay keeper's relays:
 * waits double after each failure up to the cap, start again from the shortest after a success,
 * one attempt per key at a time, and nothing once stopped. On mocked timers, jitter fixed at 1.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Redialer } from '../../main/net/redialer.ts'

/** Lets the attempt that a timer started run to its end (it awaits `dial`). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

function setup(t: TestContext, outcomes: Array<'fail' | 'ok'> = []): { r: Redialer; attempts: Array<{ key: string; at: number }>; errors: string[]; tick: (ms: number) => Promise<void> } {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] })
  t.mock.method(Math, 'random', () => 0.5) // jitter factor 0.75 + 0.5 * 0.5 = 1
  const attempts: Array<{ key: string; at: number }> = []
  const errors: string[] = []
  const r = new Redialer({
    initialMs: 100, maxMs: 400,
    dial: async (key) => {
      attempts.push({ key, at: Date.now() })
      if ((outcomes.shift() ?? 'fail') === 'fail') throw new Error(`${key} unreachable`)
    },
    onError: (key, err) => errors.push(`${key}: ${(err as Error).message}`),
  })
  r.start()
  const tick = async (ms: number): Promise<void> => {
    t.mock.timers.tick(ms)
    await settle()
  }
  return { r, attempts, errors, tick }
}

test('a peer that stays unreachable is tried again after waits that double up to the cap', async (t) => {
  const { r, attempts, errors, tick } = setup(t)
  r.schedule('a', 0)
  await tick(0)
  for (const wait of [100, 200, 400, 400]) {
    const before = attempts.length
    await tick(wait - 1)
    assert.equal(attempts.length, before, `not before ${wait} ms`)
    await tick(1)
    assert.equal(attempts.length, before + 1, `again after ${wait} ms`)
  }
  assert.deepEqual(attempts.map((a) => a.at), [0, 100, 300, 700, 1100])
  assert.equal(errors.length, 5)
  assert.equal(errors[0], 'a: a unreachable')
  r.stop()
})

test('an attempt that succeeds starts the waits from the shortest again', async (t) => {
  const { r, attempts, tick } = setup(t, ['fail', 'fail', 'ok'])
  r.schedule('a', 0)
  await tick(0)
  await tick(100)
  await tick(200)
  assert.equal(attempts.length, 3, 'reached at the third attempt')
  assert.equal(r.scheduled('a'), false, 'nothing more scheduled after a success')
  r.retry('a') // it dropped
  await tick(99)
  assert.equal(attempts.length, 3)
  await tick(1)
  assert.equal(attempts.length, 4, 'the first wait after a success is the shortest')
  r.stop()
})

test('one attempt per key at a time; now() replaces a long wait; cancel() drops it', async (t) => {
  const { r, attempts, tick } = setup(t)
  r.schedule('a', 1000)
  r.schedule('a', 0) // already scheduled: no second timer
  r.retry('a')
  await tick(500)
  assert.equal(attempts.length, 0)
  r.now('a')
  await tick(0)
  assert.deepEqual(attempts.map((a) => a.key), ['a'], 'now() dials at once, once')
  r.schedule('b', 50)
  r.cancel('b')
  await tick(1000)
  assert.ok(!attempts.some((a) => a.key === 'b'), 'a cancelled key is not dialed')
  r.stop()
})

test('stop() drops what is scheduled and takes nothing until start()', async (t) => {
  const { r, attempts, tick } = setup(t)
  r.schedule('a', 10)
  r.schedule('b', 20)
  r.stop()
  r.schedule('c', 0)
  r.retry('d')
  await tick(1000)
  assert.equal(attempts.length, 0)
  assert.equal(r.scheduled('a') || r.scheduled('c'), false)
  r.start()
  r.schedule('a', 0)
  await tick(0)
  assert.deepEqual(attempts.map((a) => a.key), ['a'])
  r.stop()
})

test('an attempt that fails after stop() schedules nothing', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  let fail: (err: Error) => void = () => {}
  let attempts = 0
  const r = new Redialer({ initialMs: 100, maxMs: 400, dial: () => { attempts++; return new Promise<void>((_, reject) => { fail = reject }) } })
  r.start()
  r.schedule('a', 0)
  t.mock.timers.tick(0)
  await settle()
  assert.equal(attempts, 1)
  r.stop()
  fail(new Error('too late'))
  await settle()
  assert.equal(r.scheduled('a'), false)
})
