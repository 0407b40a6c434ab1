/**
 * The contract over a WebSocket on loopback (`ws`): `ws://HOST:PORT/api`, token required, frames as
 * in shared/api/wire.ts. With `uiDir` the same port also serves the built renderer over HTTP.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket, type RawData } from 'ws'
import {
  API_PATH, API_PROTOCOL, CallFrame, EVENT_NAMES, MAX_FRAME_BYTES, SUBSCRIBE, SubscribeInput, UNSUBSCRIBE,
  type ApiError, type EventName, type ResultFrame,
} from '../../shared/api/index.ts'
import type { TandemNode } from '../node/tandem-node.ts'
import { hostAllowed, originAllowed, tokenMatches, tokenOf } from './auth.ts'
import { bridgeEvents, type EventSink } from './event-bridge.ts'
import { describeZod } from './errors.ts'
import type { ApiImplementation } from './implementation.ts'
import { serveStatic } from './static-ui.ts'

/** A subscriber this far behind on events is dropped (it reconnects and re-reads state). */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024

export type ApiServerOptions = ApiServerBase & (
  | { node: TandemNode }
  /** Instead of a node: attach the events some other way (main/api/starting.ts, before the node is up). */
  | { events: (sink: EventSink) => () => void }
)

interface ApiServerBase {
  api: ApiImplementation
  host: string
  port: number
  token: string
  /** Serve this folder (the built renderer) at `/`. */
  uiDir?: string
  log?: (msg: string) => void
}

export interface ApiServer {
  /** `HOST:PORT` actually bound (the port is real even when 0 was asked). */
  readonly address: string
  readonly port: number
  close(): Promise<void>
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { api, token } = options
  const attachEvents = 'events' in options ? options.events : (sink: EventSink) => bridgeEvents(options.node, api, sink)
  const log = options.log ?? (() => {})
  let port = options.port
  const ownOrigins = (): string[] => [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`]

  const http: Server = createServer((req, res) => {
    if (!hostAllowed(req, port)) {
      res.writeHead(403).end()
      return
    }
    if (options.uiDir === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Tandem API: connect a WebSocket to /api\n')
      return
    }
    void serveStatic(options.uiDir, req, res)
  })
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    // Answer with our protocol when offered (browsers insist on an answer when they offer any), never the token.
    handleProtocols: (protocols) => (protocols.has(API_PROTOCOL) ? API_PROTOCOL : false),
  })
  const subscriptions = new Map<WebSocket, Set<EventName>>()

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: number, why: string): void => {
      socket.end(`HTTP/1.1 ${status} ${why}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(why)}\r\n\r\n${why}`)
      socket.destroy()
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (path !== API_PATH) return refuse(404, 'Not Found')
    if (!hostAllowed(req, port) || !originAllowed(req, ownOrigins())) return refuse(403, 'Forbidden')
    const given = tokenOf(req)
    if (given === null || !tokenMatches(given, token)) return refuse(401, 'Unauthorized')
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
  })

  wss.on('connection', (ws: WebSocket) => {
    subscriptions.set(ws, new Set())
    ws.on('message', (data: RawData, isBinary: boolean) => { void onMessage(ws, data, isBinary) })
    ws.on('close', () => { subscriptions.delete(ws) })
    ws.on('error', () => { subscriptions.delete(ws) })
  })

  const send = (ws: WebSocket, frame: ResultFrame | { event: EventName; data: unknown }): void => {
    if (ws.readyState !== ws.OPEN) return
    let text: string
    try {
      text = JSON.stringify(frame)
    } catch (err) {
      if (!('id' in frame)) return
      text = JSON.stringify({ id: frame.id, error: { code: 'INTERNAL', message: `Could not encode the answer: ${(err as Error).message}` } })
    }
    if (Buffer.byteLength(text) > MAX_FRAME_BYTES && 'id' in frame) {
      text = JSON.stringify({ id: frame.id, error: { code: 'INTERNAL', message: 'The answer is larger than a frame may be: ask for less (limit/offset).' } })
    }
    ws.send(text)
  }
  const fail = (ws: WebSocket, id: string | number | null, error: ApiError): void => send(ws, { id, error })

  async function onMessage(ws: WebSocket, data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) return fail(ws, null, { code: 'BAD_FRAME', message: 'Frames are JSON text.' })
    let raw: unknown
    try {
      raw = JSON.parse(data.toString())
    } catch {
      return fail(ws, null, { code: 'BAD_FRAME', message: 'A frame must be one JSON object {id, call, input}.' })
    }
    const frame = CallFrame.safeParse(raw)
    if (!frame.success) {
      const id = typeof raw === 'object' && raw !== null && 'id' in raw && (typeof raw.id === 'string' || typeof raw.id === 'number') ? raw.id : null
      return fail(ws, id, { code: 'BAD_FRAME', message: `A frame must be {id, call, input}: ${describeZod(frame.error)}` })
    }
    const { id, call, input } = frame.data
    if (call === SUBSCRIBE || call === UNSUBSCRIBE) {
      const parsed = SubscribeInput.safeParse(input)
      if (!parsed.success) return fail(ws, id, { code: 'INVALID_INPUT', message: describeZod(parsed.error) })
      const subs = subscriptions.get(ws)
      if (subs === undefined) return
      const names = parsed.data?.events ?? EVENT_NAMES
      for (const n of names) {
        if (call === SUBSCRIBE) subs.add(n)
        else subs.delete(n)
      }
      return send(ws, { id, result: [...subs] })
    }
    const outcome = await api.call(call, input)
    send(ws, outcome.ok ? { id, result: outcome.result ?? null } : { id, error: outcome.error })
  }

  const detach = attachEvents((event, data) => {
    let text: string | undefined
    for (const [ws, subs] of subscriptions) {
      if (!subs.has(event)) continue
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        ws.close(1013, 'too far behind on events')
        continue
      }
      text ??= JSON.stringify({ event, data })
      if (ws.readyState === ws.OPEN) ws.send(text)
    }
  })

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(options.port, options.host, () => {
      http.off('error', reject)
      resolve()
    })
  })
  const bound = http.address()
  port = typeof bound === 'object' && bound !== null ? bound.port : options.port
  const hostPart = options.host.includes(':') ? `[${options.host}]` : options.host
  log(`API listening on ws://${hostPart}:${port}${API_PATH}`)

  return {
    address: `${hostPart}:${port}`,
    port,
    async close() {
      detach()
      for (const ws of subscriptions.keys()) ws.close(1001, 'node stopping')
      wss.close()
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}
