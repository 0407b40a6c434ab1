/**
 * Typed storage the database hands out to the parts above it, as automerge-repo's StorageSubsystem
 * hands out namespaces: a part names its namespace once, with the type of its values, and reads and
 * writes through it with no casts and no view of LevelDB. The store keeps each namespace in a
 * sublevel of its own (JSON values) and single values in its `meta` sublevel, beside its own keys.
 *
 * Writes through a handle are single atomic writes that do not wait for the database's write lock.
 * A read-modify-write that must not interleave with a commit (or several writes that must land
 * together) goes through `Database.transact`, which stages them in a `StorageTxn`.
 */
import type { Sub, Txn } from './store.ts'

/** A namespace of values of one type, by string key. */
export interface Namespace<T> {
  readonly name: string
  get(key: string): Promise<T | undefined>
  put(key: string, value: T): Promise<void>
  del(key: string): Promise<void>
  /** Every value, in key order. */
  values(): AsyncIterable<T>
}

/** One named value of the node's settings (kept with the store's own, in `meta`). */
export interface Setting<T> {
  readonly key: string
  get(): Promise<T | undefined>
  put(value: T): Promise<void>
}

/**
 * Writes staged by `Database.transact`: they commit as one atomic batch when its `stage` returns,
 * under the write lock. Reads are not offered: a stage runs synchronously, from what its caller
 * keeps in memory, so nothing but staging can happen while it holds the lock.
 */
export interface StorageTxn {
  put<T>(ns: Namespace<T>, key: string, value: T): void
  del<T>(ns: Namespace<T>, key: string): void
  set<T>(setting: Setting<T>, value: T): void
  /** Empties the outbox of `target` (with its count): what a replicator's removal needs. */
  dropOutbox(target: string): void
  /**
   * Runs `fn` once the batch is written, before the write lock is released: for memory that
   * mirrors what was written and is read inside commits (an outbox route reads it), so no commit
   * sees the memory and the disk disagree. Not run when the commit fails.
   */
  afterCommit(fn: () => void): void
}

const subs = new WeakMap<object, Sub<unknown>>()
const settingSubs = new WeakMap<object, Sub<unknown>>()

/** The sublevel behind a namespace handle (main/db only). */
export function subOf<T>(ns: Namespace<T>): Sub<unknown> {
  const sub = subs.get(ns)
  if (sub === undefined) throw new Error(`namespace ${ns.name} was not made by this database`)
  return sub
}

/** The sublevel (meta) behind a setting handle (main/db only). */
export function settingSubOf<T>(setting: Setting<T>): Sub<unknown> {
  const sub = settingSubs.get(setting)
  if (sub === undefined) throw new Error(`setting ${setting.key} was not made by this database`)
  return sub
}

export function namespaceOn<T>(name: string, sub: Sub<unknown>): Namespace<T> {
  const ns: Namespace<T> = {
    name,
    async get(key) { return ((await sub.get(key)) ?? undefined) as T | undefined },
    async put(key, value) { await sub.put(key, value) },
    async del(key) { await sub.del(key) },
    async *values() { for await (const value of sub.values()) yield value as T },
  }
  subs.set(ns, sub)
  return ns
}

export function settingOn<T>(key: string, meta: Sub<unknown>): Setting<T> {
  const setting: Setting<T> = {
    key,
    async get() { return ((await meta.get(key)) ?? undefined) as T | undefined },
    async put(value) { await meta.put(key, value) },
  }
  settingSubs.set(setting, meta)
  return setting
}

/** Stages a StorageTxn's namespace and setting writes into a store transaction. */
export function stageOn(txn: Txn): Pick<StorageTxn, 'put' | 'del' | 'set'> {
  return {
    put: (ns, key, value) => txn.put(subOf(ns), key, value),
    del: (ns, key) => txn.del(subOf(ns), key),
    set: (setting, value) => txn.put(settingSubOf(setting), setting.key, value),
  }
}
