/**
 * The API contract: every call (name → input schema, output type) and every event. main/api
 * implements it once; transports (loopback WebSocket, Electron IPC) carry it; the CLI, the window
 * and tests use it. Import from here: `import { CALLS, type Api } from '../shared/api/index.ts'`.
 */
import type { z } from 'zod'
import { collectionCalls } from './collections.ts'
import { documentCalls } from './documents.ts'
import { nodeCalls } from './node.ts'
import { peerCalls } from './peers.ts'
import { pairingCalls } from './pairing.ts'
import { replicatorCalls } from './replicators.ts'
import { doctorCalls } from './doctor.ts'
import { syncStatusCalls } from './sync-status.ts'
import { heldCalls } from './held.ts'
import { backupCalls } from './backup.ts'
import type { CallSpec } from './define.ts'

export const CALLS = {
  ...collectionCalls,
  ...documentCalls,
  ...nodeCalls,
  ...peerCalls,
  ...pairingCalls,
  ...replicatorCalls,
  ...doctorCalls,
  ...syncStatusCalls,
  ...heldCalls,
  ...backupCalls,
} as const

export type Calls = typeof CALLS
export type CallName = keyof Calls
/** What a caller passes (before validation: optional fields may be left out). */
export type CallInput<N extends CallName> = z.input<Calls[N]['input']>
/** What the implementation receives after validation. */
export type ParsedInput<N extends CallName> = z.output<Calls[N]['input']>
export type CallOutput<N extends CallName> = Calls[N] extends CallSpec<z.ZodType, infer O> ? O : never

/** The whole API as functions: what a client (WebSocket, IPC bridge) offers and main/api implements. */
export type Api = { [N in CallName]: (input: CallInput<N>) => Promise<CallOutput<N>> }

export function isCallName(name: string): name is CallName {
  return Object.hasOwn(CALLS, name)
}

export type { CallSpec } from './define.ts'
export type { ApiError } from './errors.ts'
export { ApiCallError } from './errors.ts'
export type { ApiEvents, EventName } from './events.ts'
export { EVENT_NAMES } from './events.ts'
export * from './types.ts'
export type { NodeStatus, UpgradeStatus } from './node.ts'
export type * from './doctor.ts'
export type * from './sync-status.ts'
export type * from './held.ts'
export type * from './backup.ts'
export * from './wire.ts'
