/**
 * Fuzz runs use fast-check with a recorded seed (TANDEM_FUZZ_SEED, else TANDEM_PROPERTY_SEED, else a
 * fixed one) and report how many cases ran, so a failure replays: fast-check prints the seed and
 * path of the failing case; rerun with TANDEM_FUZZ_SEED=<seed>.
 */
import fc from 'fast-check'
import type { TestContext } from 'node:test'

export const SEED = Number(process.env.TANDEM_FUZZ_SEED ?? process.env.TANDEM_PROPERTY_SEED ?? 20261128)
/** Multiplies every numRuns (e.g. TANDEM_FUZZ_RUNS=10 for a long soak). */
export const SCALE = Number(process.env.TANDEM_FUZZ_RUNS ?? 1)

/** Runs an async property `numRuns × SCALE` times with the recorded seed; notes the count in the test output. */
export async function fuzz<T>(t: TestContext, name: string, arb: fc.Arbitrary<T>, numRuns: number, check: (v: T) => Promise<void>): Promise<number> {
  let cases = 0
  const runs = Math.max(1, Math.round(numRuns * SCALE))
  await fc.assert(fc.asyncProperty(arb, async (v) => { cases++; await check(v) }), { numRuns: runs, seed: SEED, endOnFailure: true })
  t.diagnostic(`${name}: ${cases} cases (seed ${SEED})`)
  return cases
}

/** Random mutations of a valid byte string: flip, truncate, insert, overwrite a span, or extend. */
export function mutated(base: Uint8Array): fc.Arbitrary<Uint8Array> {
  const at = fc.nat({ max: Math.max(0, base.length - 1) })
  return fc.oneof(
    fc.tuple(at, fc.integer({ min: 1, max: 255 })).map(([i, x]) => { const b = new Uint8Array(base); b[i]! ^= x; return b }),
    at.map((i) => base.slice(0, i)),
    fc.tuple(at, fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([i, ins]) => Buffer.concat([base.subarray(0, i), ins, base.subarray(i)])),
    fc.tuple(at, fc.uint8Array({ minLength: 1, maxLength: 40 })).map(([i, over]) => { const b = new Uint8Array(base); b.set(over.subarray(0, b.length - i), i); return b }),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((tail) => Buffer.concat([base, tail])),
  ).map((b) => new Uint8Array(b))
}
