/**
 * Keeps trying to reach peers: one timer per key (a device, a relay), the wait growing after each
 * failed attempt or drop (capped exponential backoff with jitter: ./backoff.ts) and starting again
 * from the shortest once an attempt succeeds. The node redials its group's devices with it, and the
 * relay keeper its relays.
 *
 * What an attempt is stays the caller's (`dial`): it resolves when the peer is reached, or when
 * there is nothing left to do (connected meanwhile, no longer wanted), and throws when it failed,
 * which schedules the next one. At most one attempt per key is scheduled at a time.
 */
import type { Startable } from '@libp2p/interface'
import { Backoff } from './backoff.ts'

export interface RedialerInit<K extends string = string> {
  /** The first wait after a failure or a drop (ms); it doubles at each one after. */
  initialMs: number
  /** The longest wait (ms). */
  maxMs: number
  /** One attempt to reach `key`: resolves when it is reached (or needs nothing more), throws when it failed. */
  dial: (key: K) => Promise<void>
  /** Told of each failed attempt, before the next is scheduled. */
  onError?: (key: K, err: unknown) => void
}

export class Redialer<K extends string = string> implements Startable {
  readonly #init: RedialerInit<K>
  readonly #backoff: Backoff
  readonly #timers = new Map<K, NodeJS.Timeout>()
  #started = false

  constructor(init: RedialerInit<K>) {
    this.#init = init
    this.#backoff = new Backoff({ initialMs: init.initialMs, maxMs: init.maxMs })
  }

  readonly [Symbol.toStringTag] = 'tandem:redialer'

  /** Takes schedules from now on. */
  start(): void {
    this.#started = true
  }

  /** Cancels every scheduled attempt and takes none until `start` (an attempt running finishes, and schedules nothing). */
  stop(): void {
    this.#started = false
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
  }

  /** Dials `key` after `delayMs` (0: at once), unless an attempt is scheduled for it already. */
  schedule(key: K, delayMs = 0): void {
    if (!this.#started || this.#timers.has(key)) return
    const timer = setTimeout(() => {
      this.#timers.delete(key)
      void this.#attempt(key)
    }, delayMs)
    timer.unref()
    this.#timers.set(key, timer)
  }

  /** Dials `key` after the next, longer wait: it dropped, or could not be reached. */
  retry(key: K): void {
    if (!this.#started || this.#timers.has(key)) return
    this.schedule(key, this.#backoff.next(key))
  }

  /** Dials `key` at once, waits reset: whatever was scheduled for it goes (it came back online, it was kicked). */
  now(key: K): void {
    this.cancel(key)
    this.schedule(key, 0)
  }

  /** Forgets `key` for now: its scheduled attempt is dropped and its waits start from the shortest again (it connected, or is no longer wanted). */
  cancel(key: K): void {
    const t = this.#timers.get(key)
    if (t !== undefined) clearTimeout(t)
    this.#timers.delete(key)
    this.#backoff.reset(key)
  }

  /** Whether an attempt is scheduled for `key`. */
  scheduled(key: K): boolean {
    return this.#timers.has(key)
  }

  async #attempt(key: K): Promise<void> {
    if (!this.#started) return
    try {
      await this.#init.dial(key)
      this.#backoff.reset(key)
    } catch (err) {
      this.#init.onError?.(key, err)
      this.retry(key)
    }
  }
}
