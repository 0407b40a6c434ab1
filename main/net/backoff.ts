/** Capped exponential backoff with jitter, per key (a device, a replicator target). */
export class Backoff {
  readonly #initialMs: number
  readonly #maxMs: number
  readonly #attempts = new Map<string, number>()

  constructor(options: { initialMs: number; maxMs: number }) {
    this.#initialMs = options.initialMs
    this.#maxMs = options.maxMs
  }

  /** The delay before the next attempt for `key`, growing with each call until `reset`. */
  next(key: string): number {
    const n = this.#attempts.get(key) ?? 0
    this.#attempts.set(key, n + 1)
    const base = Math.min(this.#maxMs, this.#initialMs * 2 ** n)
    // Jitter: devices that lost each other at the same moment do not redial in lockstep.
    return Math.round(base * (0.75 + Math.random() * 0.5))
  }

  reset(key: string): void {
    this.#attempts.delete(key)
  }
}
