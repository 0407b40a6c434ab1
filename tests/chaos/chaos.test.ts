/**
 * The CI chaos set: a short fixed set of seeds (3 node processes × 300 operations each: writes,
 * partitions, SIGKILL + restart, replicators). Each seed must converge after the final heal with
 * identical, uncorrupted stores and no acknowledged write lost. A failure names the seed and the
 * one-line command that replays it; `npm run chaos -- --seeds 200 --nodes 5 --ops 10000` runs long.
 * CHAOS_SEEDS=n changes how many seeds run here.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { figures, runSeed, type RunResult } from './harness.ts'

const SEEDS = Number(process.env.CHAOS_SEEDS ?? 12)
const NODES = 3
const OPS = 300

test(`chaos: ${SEEDS} seeds × ${NODES} nodes × ${OPS} ops converge with no acknowledged write lost`, { timeout: 15 * 60_000 }, async (t) => {
  const results: RunResult[] = []
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = await runSeed({ seed, nodes: NODES, ops: OPS, quiesceMs: 60_000 })
    t.diagnostic(figures(r))
    results.push(r)
    assert.equal(r.verify.lost, 0)
  }
  const sum = (f: (r: RunResult) => number): number => results.reduce((a, r) => a + f(r), 0)
  t.diagnostic(`total: ${sum((r) => r.ops)} ops, ${sum((r) => r.writes.acked)} acked writes, ${sum((r) => r.partitions)} partitions, ` +
    `${sum((r) => r.kills)} kills, max convergence ${Math.max(...results.map((r) => r.convergenceMs))} ms, lost ${sum((r) => r.verify.lost)}`)
  assert.ok(sum((r) => r.kills) > 0 && sum((r) => r.partitions) > 0, 'the set exercised kills and partitions')
})
