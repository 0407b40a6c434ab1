/**
 * What an upgrade step is: one change of the store format, `from` → `to`, in a file of its own in
 * this folder (`0005-<name>.ts` exporting `const step: UpgradeStep`), registered in order in
 * index.ts. The runner (../upgrade.ts) keeps a copy of the database before the first step changes
 * anything and writes the new format itself, after the last step: a step only changes records.
 */
import type { Store, Txn } from '../store.ts'

export interface UpgradeContext {
  /** The open store, in the format `from`: its sublevels (`docs`, `blocks`, `schemas`, `meta`, …) and `db`, the LevelDB itself. */
  readonly store: Store
  /** A transaction over the sublevels (`store.txn()`): reads see its writes, `commit` is one atomic batch. */
  txn(): Txn
  /** A chained batch on the root LevelDB (`store.db.batch()`), for raw keys. */
  batch(): ReturnType<Store['db']['batch']>
  /**
   * How far the step is, as it goes (e.g. records rewritten of records to rewrite). Call it as often
   * as convenient: the log and the progress callback see it at most about once a second.
   */
  progress(done: number, total: number): void
  /** A line for the node's log. */
  log(msg: string): void
}

export interface UpgradeStep {
  /** The store format this step reads. */
  readonly from: number
  /** The store format it leaves (from + 1). */
  readonly to: number
  /** What changes, in words, for the log and the upgrade record: "collections keep their versions". */
  readonly describe: string
  /**
   * Changes the records from format `from` to `to`. It may commit as many batches as it likes: a
   * crash anywhere restores the copy made before the first step, and the upgrade starts over. So a
   * step need not be idempotent, but it must finish what it starts (no state kept outside the store).
   */
  run(ctx: UpgradeContext): Promise<void>
}
