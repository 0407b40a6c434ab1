/**
 * The one seam between the window and the node: the contract's calls and events, whatever carries
 * them (Electron IPC through the preload, or the loopback WebSocket of `tandem start --ui`).
 */
import type { CallInput, CallName, CallOutput, EventName } from '../../../shared/api/index.ts'

export type EventListener = (event: EventName, data: unknown) => void
export type LinkState = 'connecting' | 'up' | 'down'

export interface Bridge {
  call<N extends CallName>(name: N, ...input: undefined extends CallInput<N> ? [CallInput<N>?] : [CallInput<N>]): Promise<CallOutput<N>>
  subscribe(listener: EventListener): () => void
  /** Whether the window can reach its node (always up over IPC). */
  onLink(listener: (state: LinkState) => void): () => void
}
