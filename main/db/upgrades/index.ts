/**
 * The upgrade steps, in order: step i reads the format step i-1 leaves, the first reads
 * UPGRADABLE_FROM. STORE_FORMAT, the format this Tandem writes, is the last step's `to`.
 *
 * Formats so far (the `storeFormat` key of `meta`):
 *   1–3  development formats, never given to anyone: refused, with a message that says so.
 *        2: document records keep each stamp's CID once, in a table (`c`). 3: records are stored
 *        under `collectionID!bucket!docID` and the separate heads index is gone. 4: records are JSON
 *        arrays with heads as indexes into `c` (record-codec.ts).
 *   4    the first released format; tests/fixtures/store-v4/ is a directory written in it.
 *   5    schema versions: a `versions` sublevel, each collection's schema its first version (0005).
 *        Never shipped on its own: 0006 landed with it, so the format-4 fixture covers both.
 *   6    conflicts: a record's `x` (field → the maximal writes' CIDs) and `collectionID!conflicts` counts (0006).
 *        tests/fixtures/store-v6/ is a directory written in it.
 *   7    lean blocks: a block of a signed batch names its batch's signature and proof nodes, kept once
 *        in the `trees` sublevel (lean-block.ts, 0007).
 *
 * To change the format: add `00NN-<name>.ts` here (see step.ts) and list it below; add a fixture
 * written by the format it reads (tests/fixtures/store-v<from>/, made by a script beside it) and a
 * test that opens it (tests/db/upgrade.test.ts shows how).
 */
import type { UpgradeStep } from './step.ts'
import { step as schemaVersions } from './0005-schema-versions.ts'
import { step as conflicts } from './0006-conflicts.ts'
import { step as leanBlocks } from './0007-lean-blocks.ts'

/** The first format a directory can be upgraded from (older ones were development formats). */
export const UPGRADABLE_FROM = 4

export const UPGRADES: readonly UpgradeStep[] = [
  schemaVersions, // 4 → 5
  conflicts, // 5 → 6
  leanBlocks, // 6 → 7
]

/** The format a chain of steps leaves: the last step's `to`, or UPGRADABLE_FROM when there are none. */
export function formatAfter(steps: readonly UpgradeStep[]): number {
  return steps.at(-1)?.to ?? UPGRADABLE_FROM
}

/** The store format this Tandem writes and reads. */
export const STORE_FORMAT = formatAfter(UPGRADES)
