/**
 * The contract over Electron IPC: what the preload exposes as `window.tandem`, and the two channels
 * it uses. The preload answers with the outcome (never throws across the context bridge, which keeps
 * only an Error's message); the renderer turns a failed outcome into an ApiCallError.
 */
import type { ApiError } from './errors.ts'
import type { EventName } from './events.ts'

/** ipcRenderer.invoke(IPC_CALL, name, input) → CallOutcome. */
export const IPC_CALL = 'tandem:call'
/** main → window: webContents.send(IPC_EVENT, {event, data}) for every contract event. */
export const IPC_EVENT = 'tandem:event'

export type CallOutcome = { ok: true; result: unknown } | { ok: false; error: ApiError }

/** `window.tandem` in the Electron window: one call and one subscription, nothing else. */
export interface PreloadApi {
  call(name: string, input?: unknown): Promise<CallOutcome>
  /** Every contract event, until the returned function is called. */
  subscribe(listener: (event: EventName, data: unknown) => void): () => void
}
