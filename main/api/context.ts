/** What every handler gets: the node, its log, and a way to push an event (for changes the node does not announce itself). */
import type { TandemNode } from '../node/tandem-node.ts'
import type { Logger } from '../net/logger.ts'
import type { ApiEvents, CallName, CallOutput, EventName, ParsedInput } from '../../shared/api/index.ts'

export interface ApiContext {
  node: TandemNode
  /** The node's log, namespace "api". */
  log: Logger
  version: string
  emit: <E extends EventName>(event: E, data: ApiEvents[E]) => void
}

export type Handler<N extends CallName> = (ctx: ApiContext, input: ParsedInput<N>) => Promise<CallOutput<N>> | CallOutput<N>
export type Handlers<N extends CallName> = { [K in N]: Handler<K> }
