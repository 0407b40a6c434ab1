/**
 * The browser transport: the loopback WebSocket of `tandem start --ui` (framing in
 * shared/api/wire.ts). Calls made while first connecting wait for the socket; a dropped socket fails
 * the calls in flight, and calls made while it is down, with UNREACHABLE (a person sees why at once)
 * and reconnects with backoff, subscribing again.
 */
import { ApiCallError, type ApiError } from '../../../shared/api/errors.ts'
import type { EventName } from '../../../shared/api/events.ts'
import { API_PATH, API_PROTOCOL, SUBSCRIBE, TOKEN_PROTOCOL_PREFIX } from '../../../shared/api/wire-names.ts'
import type { Bridge, EventListener, LinkState } from './bridge.ts'

/** A call with no answer by then is failed (the socket may be half-dead). */
const CALL_TIMEOUT_MS = 60_000
const MAX_BACKOFF_MS = 5_000

interface Pending { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }

export function wsBridge(host: string, token: string): Bridge & { close(): void } {
  const url = `ws://${host}${API_PATH}`
  const listeners = new Set<EventListener>()
  const linkListeners = new Set<(s: LinkState) => void>()
  const pending = new Map<number, Pending>()
  const queue: string[] = []
  let nextId = 1
  let socket: WebSocket | null = null
  let state: LinkState = 'connecting'
  let backoff = 250
  let closed = false
  let retry: ReturnType<typeof setTimeout> | undefined

  const setState = (s: LinkState): void => {
    if (s === state) return
    state = s
    for (const l of linkListeners) l(s)
  }
  const unreachable = (why: string): ApiCallError =>
    new ApiCallError({ code: 'UNREACHABLE', message: `Lost the connection to the Tandem node (${why}).` })

  function connect(): void {
    if (closed) return
    const ws = new WebSocket(url, [API_PROTOCOL, TOKEN_PROTOCOL_PREFIX + token])
    socket = ws
    ws.onopen = () => {
      backoff = 250
      ws.send(JSON.stringify({ id: 0, call: SUBSCRIBE, input: {} }))
      for (const frame of queue.splice(0)) ws.send(frame)
      setState('up')
    }
    ws.onmessage = (msg) => {
      let frame: { id?: number | null; result?: unknown; error?: ApiError; event?: EventName; data?: unknown }
      try {
        frame = JSON.parse(String(msg.data)) as typeof frame
      } catch {
        return
      }
      if (frame.event !== undefined) {
        for (const l of listeners) l(frame.event, frame.data)
        return
      }
      if (typeof frame.id !== 'number') return
      const p = pending.get(frame.id)
      if (p === undefined) return
      pending.delete(frame.id)
      clearTimeout(p.timer)
      if (frame.error !== undefined) p.reject(new ApiCallError(frame.error))
      else p.resolve(frame.result)
    }
    ws.onclose = (ev) => {
      if (socket !== ws) return
      socket = null
      for (const [id, p] of pending) {
        clearTimeout(p.timer)
        p.reject(unreachable(ev.code === 1006 ? 'is it still running?' : `closed: ${ev.reason || ev.code}`))
        pending.delete(id)
      }
      setState('down')
      if (closed) return
      retry = setTimeout(connect, backoff)
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)
    }
  }
  connect()

  return {
    call(name, ...input) {
      if (state === 'down') return Promise.reject(unreachable('reconnecting…'))
      const id = nextId++
      const frame = JSON.stringify({ id, call: name, input: input[0] })
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(unreachable('no answer in time'))
        }, CALL_TIMEOUT_MS)
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer })
        if (socket !== null && socket.readyState === WebSocket.OPEN) socket.send(frame)
        else queue.push(frame)
      })
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    onLink(listener) {
      linkListeners.add(listener)
      listener(state)
      return () => { linkListeners.delete(listener) }
    },
    close() {
      closed = true
      clearTimeout(retry)
      socket?.close(1000, 'window closed')
    },
  }
}
