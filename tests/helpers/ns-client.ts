/** Drives a TandemNode running in a network namespace (./ns-node.ts) from a test. */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Command, Commands, NodeEvent, Reply } from './ns-node.ts'
import type { Topology } from './netns.ts'
import { tempDir } from './tmp.ts'

const SCRIPT = fileURLToPath(new URL('./ns-node.ts', import.meta.url))

type T = Parameters<typeof tempDir>[0]
type ReadyEvent = Extract<NodeEvent, { event: 'ready' }>
interface PendingCall { resolve: (v: unknown) => void; reject: (e: Error) => void }

export interface NsNodeOptions {
  listen: string[]
  mdns?: boolean
  /** The device name (--name). */
  name?: string
  dataDir?: string
  /** Ms to wait for the node to be up (default 20 s). */
  readyMs?: number
}

export class NsNode {
  readonly ns: string
  readonly ready: ReadyEvent
  /** Every event so far, in order (`waitForEvent` looks here first). */
  readonly events: NodeEvent[]
  readonly #child: ChildProcess
  readonly #pending: Map<number, PendingCall>
  readonly #waiters: Set<() => void>
  readonly #stderr: string[]
  #nextId = 1
  #exited: Promise<number | null>

  private constructor(ns: string, child: ChildProcess, ready: ReadyEvent, state: {
    events: NodeEvent[]; pending: Map<number, PendingCall>; waiters: Set<() => void>; stderr: string[]; exited: Promise<number | null>
  }) {
    this.ns = ns
    this.#child = child
    this.ready = ready
    this.events = state.events
    this.#pending = state.pending
    this.#waiters = state.waiters
    this.#stderr = state.stderr
    this.#exited = state.exited
  }

  get deviceID(): string {
    return this.ready.deviceID
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** The last lines the node wrote to stderr (for failure messages). */
  stderrTail(lines = 30): string {
    return this.#stderr.slice(-lines).join('\n')
  }

  /**
   * Starts a node inside `ns` and waits until it runs. It is stopped at the topology's teardown
   * (before the namespaces are deleted); its data directory is removed after `t`.
   */
  static async spawn(t: T, topo: Topology, ns: string, options: NsNodeOptions): Promise<NsNode> {
    const dataDir = options.dataDir ?? await tempDir(t, 'tandem-ns-')
    const args = ['netns', 'exec', ns, process.execPath, SCRIPT, '--data-dir', dataDir]
    for (const l of options.listen) args.push('--listen', l)
    if (options.mdns === true) args.push('--mdns')
    if (options.name !== undefined) args.push('--name', options.name)
    const child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const events: NodeEvent[] = []
    const pending = new Map<number, PendingCall>()
    const waiters = new Set<() => void>()
    const stderr: string[] = []
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
      for (const p of pending.values()) p.reject(new Error(`ns-node in ${ns} exited (code ${code}): ${stderr.slice(-10).join('\n')}`))
      pending.clear()
      for (const w of waiters) w()
      resolve(code)
    }))
    let node: NsNode | undefined
    topo.onTeardown(() => node !== undefined ? node.stop() : killAndWait(child, exited))

    createInterface({ input: child.stderr! }).on('line', (l) => {
      stderr.push(l)
      if (stderr.length > 500) stderr.shift()
      if (process.env.TANDEM_TEST_LOG) console.error(`[${ns}] ${l}`)
    })
    createInterface({ input: child.stdout! }).on('line', (l) => {
      let msg: NodeEvent | Reply
      try {
        msg = JSON.parse(l) as NodeEvent | Reply
      } catch {
        stderr.push(`(stdout) ${l}`)
        return
      }
      if ('event' in msg) {
        events.push(msg)
        for (const w of waiters) w()
      } else {
        const p = pending.get(msg.id)
        if (p === undefined) return
        pending.delete(msg.id)
        if (msg.ok) p.resolve(msg.result)
        else p.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }))
      }
    })

    const ready = await waitIn(events, waiters, exited, (e): e is ReadyEvent => e.event === 'ready', options.readyMs ?? 20_000,
      () => `ns-node in ${ns} did not start: ${stderr.slice(-20).join('\n')}`)
    node = new NsNode(ns, child, ready, { events, pending, waiters, stderr, exited })
    return node
  }

  /** Sends a command and resolves with its result (rejects with the node's error). */
  call<C extends Command>(cmd: C, ...rest: Commands[C]['args'] extends Record<string, never> ? [] : [Commands[C]['args']]): Promise<Commands[C]['result']> {
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null || this.#child.stdin?.writable !== true) {
        reject(new Error(`ns-node in ${this.ns} is not running`))
        return
      }
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.#child.stdin.write(JSON.stringify({ id, cmd, args: rest[0] ?? {} }) + '\n')
    })
  }

  /** The first event (already seen or to come) that matches, or an error after `ms`. */
  waitForEvent<E extends NodeEvent>(match: (e: NodeEvent) => e is E, ms?: number, what?: string): Promise<E>
  waitForEvent(match: (e: NodeEvent) => boolean, ms?: number, what?: string): Promise<NodeEvent>
  waitForEvent(match: (e: NodeEvent) => boolean, ms = 15_000, what = 'event'): Promise<NodeEvent> {
    return waitIn(this.events, this.#waiters, this.#exited, match as (e: NodeEvent) => e is NodeEvent, ms,
      () => `timed out after ${ms} ms waiting for ${what} on ${this.ns}; events: ${JSON.stringify(this.events)}`)
  }

  /** Asks the node to stop; kills it (by pid) if it has not exited after `ms`. Idempotent. */
  async stop(ms = 10_000): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      await Promise.race([
        this.call('stop').catch(() => {}),
        new Promise((r) => setTimeout(r, ms).unref()),
      ])
    }
    await killAndWait(this.#child, this.#exited, 3000)
  }
}

async function killAndWait(child: ChildProcess, exited: Promise<number | null>, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.stdin?.end() // the node stops by itself when stdin closes
  const timer = setTimeout(() => { child.kill('SIGKILL') }, graceMs)
  await exited
  clearTimeout(timer)
}

function waitIn<E extends NodeEvent>(events: NodeEvent[], waiters: Set<() => void>, exited: Promise<number | null>,
  match: (e: NodeEvent) => e is E, ms: number, fail: () => string): Promise<E> {
  return new Promise((resolve, reject) => {
    let seen = 0
    let done = false
    const finish = (err: Error | null, e?: E): void => {
      if (done) return
      done = true
      waiters.delete(check)
      clearTimeout(timer)
      if (err !== null) reject(err)
      else resolve(e!)
    }
    const check = (): void => {
      for (; seen < events.length; seen++) {
        const e = events[seen]!
        if (match(e)) return finish(null, e)
      }
    }
    const timer = setTimeout(() => finish(new Error(fail())), ms)
    waiters.add(check)
    void exited.then(() => finish(new Error(`${fail()} (the node exited)`)))
    check()
  })
}
