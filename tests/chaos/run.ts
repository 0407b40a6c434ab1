/**
 * `npm run chaos [-- --seeds N --nodes K --ops M --first-seed S]` runs N seeds; `--seed S` runs one
 * (what a failure's replay line says). Prints one line of figures per seed and a summary; exits 1
 * at the first failing seed, after printing why and its replay command.
 */
import { parseArgs } from 'node:util'
import { ChaosFailure, figures, runSeed, type RunResult } from './harness.ts'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '20' },
    'first-seed': { type: 'string', default: '1' },
    seed: { type: 'string' },
    nodes: { type: 'string', default: '3' },
    ops: { type: 'string', default: '300' },
    'quiesce-ms': { type: 'string', default: '120000' },
    keep: { type: 'boolean', default: false },
  },
})
const nodes = Number(values.nodes)
const ops = Number(values.ops)
if (!(nodes >= 2 && nodes <= 8) || !(ops >= 1)) {
  console.error('usage: npm run chaos -- [--seeds N] [--first-seed S] [--seed S] [--nodes 2..8] [--ops M]')
  process.exit(2)
}
const seeds = values.seed !== undefined ? [Number(values.seed)] : Array.from({ length: Number(values.seeds) }, (_, i) => Number(values['first-seed']) + i)
const results: RunResult[] = []
const start = performance.now()
for (const seed of seeds) {
  try {
    const r = await runSeed({ seed, nodes, ops, quiesceMs: Number(values['quiesce-ms']), keepDirs: values.keep })
    results.push(r)
    console.log(figures(r))
  } catch (err) {
    console.error((err as Error).message)
    if (err instanceof ChaosFailure) console.error(`figures so far: ${JSON.stringify(err.result)}`)
    process.exit(1)
  }
}
const sum = (f: (r: RunResult) => number): number => results.reduce((a, r) => a + f(r), 0)
const conv = results.map((r) => r.convergenceMs).sort((a, b) => a - b)
console.log(`summary: ${results.length} seeds × ${nodes} nodes × ${ops} ops in ${Math.round((performance.now() - start) / 1000)} s; ` +
  `ops ${sum((r) => r.ops)}, acked writes ${sum((r) => r.writes.acked)}, partitions ${sum((r) => r.partitions)}, kills ${sum((r) => r.kills)}, ` +
  `replicators +${sum((r) => r.replicatorsAdded)}/-${sum((r) => r.replicatorsRemoved)}, ` +
  `convergence median ${conv[Math.floor(conv.length / 2)]} ms, max ${conv[conv.length - 1]} ms, lost writes ${sum((r) => r.verify.lost)}`)
