/**
 * The contract implemented once against a TandemNode, transport-neutral: `call(name, input)`
 * validates the input with the call's zod schema, runs the handler and returns the result or the
 * contract's {code, message}; it never throws. The WebSocket server and the Electron IPC bridge
 * both carry exactly this.
 */
import { CALLS, isCallName, type ApiEvents, type CallName, type EventName } from '../../shared/api/index.ts'
import type { CallOutcome } from '../../shared/api/ipc.ts'
import type { TandemNode } from '../node/tandem-node.ts'
import type { ApiContext, Handler } from './context.ts'
import { describeZod, toApiError } from './errors.ts'
import { collections } from './handlers/collections.ts'
import { documents } from './handlers/documents.ts'
import { nodeHandlers } from './handlers/node.ts'
import { peers } from './handlers/peers.ts'
import { pairing } from './handlers/pairing.ts'
import { replicators } from './handlers/replicators.ts'
import { nearby } from './handlers/nearby.ts'
import { doctor } from './handlers/doctor.ts'
import { held } from './handlers/held.ts'
import { backup } from './handlers/backup.ts'
import { version } from './version.ts'

/** Every call of the contract; a call missing here would answer NOT_SUPPORTED. */
const HANDLERS: Partial<{ [N in CallName]: Handler<N> }> = {
  ...collections, ...documents, ...nodeHandlers, ...peers, ...pairing, ...nearby, ...replicators, ...doctor, ...held, ...backup,
}

export interface ApiImplementation {
  call(name: string, input: unknown): Promise<CallOutcome>
  /** Events the implementation itself produces (e.g. `node` after pause); the event bridge forwards the node's own. */
  onEvent(listener: <E extends EventName>(event: E, data: ApiEvents[E]) => void): () => void
}

export function createApi(node: TandemNode): ApiImplementation {
  const listeners = new Set<(event: EventName, data: unknown) => void>()
  const ctx: ApiContext = {
    node, version, log: node.log.forComponent('api'),
    emit: (event, data) => { for (const l of listeners) l(event, data) },
  }
  return {
    async call(name, input) {
      if (typeof name !== 'string' || !isCallName(name)) {
        return { ok: false, error: { code: 'UNKNOWN_CALL', message: `There is no call named "${String(name).slice(0, 64)}".` } }
      }
      const handler = HANDLERS[name] as Handler<CallName> | undefined
      if (handler === undefined) return { ok: false, error: { code: 'NOT_SUPPORTED', message: `"${name}" is not available on this node yet.` } }
      const parsed = CALLS[name].input.safeParse(input ?? undefined)
      if (!parsed.success) return { ok: false, error: { code: 'INVALID_INPUT', message: describeZod(parsed.error) } }
      try {
        return { ok: true, result: await handler(ctx, parsed.data as never) }
      } catch (err) {
        return { ok: false, error: toApiError(err) }
      }
    },
    onEvent(listener) {
      const l = listener as (event: EventName, data: unknown) => void
      listeners.add(l)
      return () => { listeners.delete(l) }
    },
  }
}
