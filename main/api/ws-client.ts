/**
 * A Node client of the loopback API (the CLI and tests use it): typed calls, events, and errors
 * thrown as ApiCallError with the node's code. Browsers build their own on the same wire.ts rules.
 */
import WebSocket from 'ws'
import {
  API_PATH, API_PROTOCOL, ApiCallError, MAX_FRAME_BYTES, SUBSCRIBE, TOKEN_PROTOCOL_PREFIX,
  type ApiError, type ApiEvents, type CallInput, type CallName, type CallOutput, type EventName,
} from '../../shared/api/index.ts'
import { TandemError } from '../../shared/errors.ts'

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void }

export class ApiClient {
  readonly #ws: WebSocket
  readonly #pending = new Map<number, Pending>()
  readonly #listeners = new Set<(event: EventName, data: unknown) => void>()
  #next = 1
  #closed: Error | null = null

  private constructor(ws: WebSocket) {
    this.#ws = ws
    ws.on('message', (data) => this.#onMessage(data.toString()))
    ws.on('close', (code, reason) => {
      this.#closed = new TandemError('CLOSED', `The connection to the node closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}).`)
      for (const p of this.#pending.values()) p.reject(this.#closed)
      this.#pending.clear()
    })
  }

  /** Connects to `HOST:PORT` (or a ws:// URL) with the token; refuses with UNAUTHORIZED / UNREACHABLE. */
  static connect(address: string, token: string, options: { timeoutMs?: number } = {}): Promise<ApiClient> {
    const url = address.startsWith('ws://') ? address : `ws://${address}${API_PATH}`
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, [API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${token}`], {
        maxPayload: MAX_FRAME_BYTES, handshakeTimeout: options.timeoutMs ?? 10_000,
      })
      ws.once('open', () => resolve(new ApiClient(ws)))
      ws.once('unexpected-response', (_req, res) => {
        ws.terminate()
        reject(res.statusCode === 401 || res.statusCode === 403
          ? new TandemError('UNAUTHORIZED', `The node at ${address} refused the token (HTTP ${res.statusCode}).`)
          : new TandemError('UNREACHABLE', `The node at ${address} answered HTTP ${res.statusCode ?? '?'}, not the API.`))
      })
      ws.once('error', (err) => reject(new TandemError('UNREACHABLE', `No Tandem node is answering at ${address} (${(err as Error).message}).`)))
    })
  }

  call<N extends CallName>(name: N, ...input: undefined extends CallInput<N> ? [CallInput<N>?] : [CallInput<N>]): Promise<CallOutput<N>> {
    return this.raw(name, input[0]) as Promise<CallOutput<N>>
  }

  /** Any call name and input, unchecked here (the node checks). */
  raw(name: string, input?: unknown): Promise<unknown> {
    if (this.#closed !== null) return Promise.reject(this.#closed)
    const id = this.#next++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#ws.send(JSON.stringify({ id, call: name, ...(input !== undefined ? { input } : {}) }))
    })
  }

  /** Subscribes to events (all when none named); `listener` gets every event this client receives. */
  async subscribe(events?: EventName[]): Promise<void> {
    await this.raw(SUBSCRIBE, events !== undefined ? { events } : {})
  }

  onEvent<E extends EventName>(listener: (event: E, data: ApiEvents[E]) => void): () => void {
    const l = listener as (event: EventName, data: unknown) => void
    this.#listeners.add(l)
    return () => { this.#listeners.delete(l) }
  }

  close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise((resolve) => {
      this.#ws.once('close', () => resolve())
      this.#ws.close()
    })
  }

  #onMessage(text: string): void {
    let frame: { id?: number | null; result?: unknown; error?: ApiError; event?: EventName; data?: unknown }
    try {
      frame = JSON.parse(text) as typeof frame
    } catch {
      return
    }
    if (frame.event !== undefined) {
      for (const l of this.#listeners) l(frame.event, frame.data)
      return
    }
    if (typeof frame.id !== 'number') return
    const p = this.#pending.get(frame.id)
    if (p === undefined) return
    this.#pending.delete(frame.id)
    if (frame.error !== undefined) p.reject(new ApiCallError(frame.error))
    else p.resolve(frame.result)
  }
}
