/**
 * Framing over a message transport (the loopback WebSocket; the Electron IPC bridge sends the same
 * objects). One JSON object per message:
 *   client → node   {id, call, input}                       a call
 *   node → client   {id, result} | {id, error: ApiError}    its answer (id echoed; null if unreadable)
 *   node → client   {event, data}                           an event, to subscribers only
 * Subscribing is a call: `events.subscribe` {events?: EventName[]} (all when omitted) and
 * `events.unsubscribe` {events?: EventName[]}. Malformed frames get an error; the connection stays.
 *
 * The WebSocket: `ws://<host:port>/api`. The token (in `<data-dir>/api.json`) goes in a subprotocol
 * `tandem-token.<token>` (next to `tandem.v1`), or, for clients that cannot set one, as `?token=`.
 * The browser UI served by `tandem start --ui` gets the token in its page URL as `#token=<token>`
 * and connects to `ws://${location.host}/api` with the subprotocols [API_PROTOCOL, TOKEN_PROTOCOL_PREFIX + token].
 */
import { z } from 'zod'
import type { ApiError } from './errors.ts'
import { EVENT_NAMES, type ApiEvents, type EventName } from './events.ts'

export { API_PATH, API_PROTOCOL, DEFAULT_API_ADDR, SUBSCRIBE, TOKEN_PROTOCOL_PREFIX, UNSUBSCRIBE } from './wire-names.ts'

/** Largest frame either side sends or accepts (a bulk create of ~100k small documents fits). */
export const MAX_FRAME_BYTES = 32 * 1024 * 1024

export const CallFrame = z.object({
  id: z.union([z.string().max(64), z.number().int()]),
  call: z.string().min(1).max(64),
  input: z.unknown().optional(),
}).strict()
export type CallFrame = z.infer<typeof CallFrame>

export type ResultFrame = { id: string | number; result: unknown } | { id: string | number | null; error: ApiError }
export type EventFrame<E extends EventName = EventName> = { event: E; data: ApiEvents[E] }

export const SubscribeInput = z.object({ events: z.array(z.enum(EVENT_NAMES)).max(EVENT_NAMES.length).optional() }).strict().optional()
