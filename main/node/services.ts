/**
 * The parts a node runs, as one ordered list: started in order, stopped in reverse, as libp2p starts
 * and stops its components. A part is a libp2p `Startable` (only `start` and `stop` are called:
 * none of ours has the before/after hooks). Whatever started is stopped, also when a later part
 * fails to start; one part failing to stop does not keep the others running.
 */
import type { Startable } from '@libp2p/interface'
import { reason, type Logger } from '../net/logger.ts'

/** A part of the node, named for the log. */
export interface Service {
  name: string
  service: Pick<Startable, 'start' | 'stop'>
}

export class Services {
  readonly #list: readonly Service[]
  readonly #log: Logger
  /** The parts started, in order: what `stop` stops. */
  #started: Service[] = []

  constructor(list: readonly Service[], log: Logger) {
    this.#list = list
    this.#log = log
  }

  /** Their names, in start order. */
  get names(): string[] {
    return this.#list.map((s) => s.name)
  }

  /** Starts each part in order. When one fails, those started already are stopped (in reverse) and the failure is thrown. */
  async start(): Promise<void> {
    for (const s of this.#list) {
      try {
        await s.service.start()
      } catch (err) {
        this.#log.error(`${s.name} did not start: ${reason(err)}`)
        await this.stop()
        throw err
      }
      this.#started.push(s)
    }
  }

  /** Stops what started, in reverse order; throws the first failure once every part was asked to stop. */
  async stop(): Promise<void> {
    let failure: { err: unknown } | null = null
    for (const s of this.#started.splice(0).reverse()) {
      try {
        await s.service.stop()
      } catch (err) {
        this.#log.error(`${s.name} did not stop cleanly: ${reason(err)}`)
        failure ??= { err }
      }
    }
    if (failure !== null) throw failure.err
  }
}
