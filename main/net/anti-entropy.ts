/**
 * Anti-entropy: head exchange runs not only when two group devices connect but every period with
 * each connected one. It is cheap when nothing differs (one digest per collection), and it repairs
 * whatever the push paths missed — a lost gossip message, a dropped stream — within one period.
 */

import { silentLogger, type Logger } from './logger.ts'

export const DEFAULT_ANTI_ENTROPY_MS = 30_000

export interface AntiEntropyInit {
  /** Period between rounds; 0 turns anti-entropy off. */
  periodMs: number
  /** Group devices connected now. */
  peers: () => string[]
  /** One head exchange (digest first) + pull with `peer`. */
  exchange: (peer: string) => Promise<unknown>
  log?: Logger
}

export class AntiEntropy {
  readonly #init: AntiEntropyInit
  #timer: NodeJS.Timeout | null = null
  #running: Promise<void> | null = null
  /** Rounds completed, for status and tests. */
  rounds = 0

  constructor(init: AntiEntropyInit) {
    this.#init = init
  }

  get periodMs(): number {
    return this.#init.periodMs
  }

  start(): void {
    if (this.#init.periodMs <= 0 || this.#timer !== null) return
    this.#timer = setInterval(() => { void this.runOnce() }, this.#init.periodMs)
    this.#timer.unref()
  }

  /** One round with every connected device; a round still running is not doubled. */
  runOnce(): Promise<void> {
    if (this.#running !== null) return this.#running
    const log = this.#init.log ?? silentLogger
    this.#running = Promise.allSettled(this.#init.peers().map((p) => this.#init.exchange(p).catch((err: Error) => {
      log.info(`exchange with ${p} failed: ${err.message}`)
    }))).then(() => { this.rounds++ }).finally(() => { this.#running = null })
    return this.#running
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    await this.#running
  }
}
