/**
 * The API while the node starts: the transports (WebSocket, Electron IPC) come up first, so a long
 * store upgrade shows in the window. Until `ready(node, api)` every call answers NODE_STARTING but
 * `node.status`, and the `node:status` event carries the state as it changes (upgrade progress at
 * most every 250 ms). Then calls and events go to the real implementation, on the same transport.
 */
import { CALLS, isCallName, type NodeStatus } from '../../shared/api/index.ts'
import type { CallOutcome } from '../../shared/api/ipc.ts'
import type { UpgradeProgress } from '../db/upgrade.ts'
import type { TandemNode } from '../node/tandem-node.ts'
import { bridgeEvents, type EventSink } from './event-bridge.ts'
import { describeZod } from './errors.ts'
import type { ApiImplementation } from './implementation.ts'

/** Upgrade progress reaches subscribers at most this often (state changes at once). */
export const STATUS_EVERY_MS = 250

export interface StartingApi {
  /** What the transport calls: the starting answers, then the real implementation. */
  readonly api: ApiImplementation
  /** Attaches a transport's event sink: `node:status` now, the node's events once ready. */
  events(sink: EventSink): () => void
  /** For `TandemNode.start({ onUpgradeProgress })`. */
  upgradeProgress(p: UpgradeProgress): void
  /** The node is up: switch every attached sink and every later call to it. */
  ready(node: TandemNode, api: ApiImplementation): void
  status(): NodeStatus
}

export function startingApi(): StartingApi {
  let status: NodeStatus = { state: 'starting' }
  let real: { node: TandemNode; api: ApiImplementation } | null = null
  const sinks = new Map<EventSink, (() => void) | null>()
  let lastSent = -Infinity
  let timer: ReturnType<typeof setTimeout> | null = null

  const send = (): void => {
    if (timer !== null) clearTimeout(timer)
    timer = null
    lastSent = performance.now()
    for (const sink of sinks.keys()) sink('node:status', status)
  }

  const api: ApiImplementation = {
    async call(name, input): Promise<CallOutcome> {
      if (real !== null) return real.api.call(name, input)
      if (typeof name !== 'string' || !isCallName(name)) {
        return { ok: false, error: { code: 'UNKNOWN_CALL', message: `There is no call named "${String(name).slice(0, 64)}".` } }
      }
      if (name === 'node.status') {
        const parsed = CALLS['node.status'].input.safeParse(input ?? undefined)
        if (!parsed.success) return { ok: false, error: { code: 'INVALID_INPUT', message: describeZod(parsed.error) } }
        return { ok: true, result: status }
      }
      const u = status.upgrade
      const doing = u === undefined ? 'starting'
        : `upgrading its data directory, step ${u.step.index} of ${u.step.of}${u.total > 0 ? `, ${Math.floor((u.done / u.total) * 100)} %` : ''}`
      return { ok: false, error: { code: 'NODE_STARTING', message: `The Tandem node is ${doing}: try again when node.status says ready.` } }
    },
    onEvent: () => () => {},
  }

  return {
    api,
    status: () => status,
    events(sink) {
      sinks.set(sink, real === null ? null : bridgeEvents(real.node, real.api, sink))
      return () => {
        sinks.get(sink)?.()
        sinks.delete(sink)
      }
    },
    upgradeProgress(p) {
      if (real !== null) return
      const first = status.state !== 'upgrading'
      status = { state: 'upgrading', upgrade: { from: p.from, to: p.to, step: { ...p.step }, done: p.done, total: p.total } }
      const wait = STATUS_EVERY_MS - (performance.now() - lastSent)
      if (first || wait <= 0) send()
      else timer ??= setTimeout(send, wait)
    },
    ready(node, realApi) {
      real = { node, api: realApi }
      status = { state: 'ready' }
      for (const sink of sinks.keys()) sinks.set(sink, bridgeEvents(node, realApi, sink))
      send()
    },
  }
}
