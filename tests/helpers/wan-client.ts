/** Drives a TandemNode running in a namespace for internet scenarios (./wan-node.ts) from a test. */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Topology } from './netns.ts'
import { tempDir } from './tmp.ts'

const SCRIPT = fileURLToPath(new URL('./wan-node.ts', import.meta.url))
type T = Parameters<typeof tempDir>[0]

export interface WanNodeOptions {
  name: string
  listen?: string[]
  relayServer?: boolean
  stunPort?: number
  relays?: string[]
  holePunch?: Record<string, number | boolean>
}

export interface Ready { deviceID: string; addrs: string[]; startedAt: number; readyAt: number }

export class WanNode {
  readonly ns: string
  readonly name: string
  readonly ready: Ready
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  readonly #stderr: string[]
  #next = 1

  private constructor(ns: string, name: string, child: ChildProcess, ready: Ready, stderr: string[]) {
    this.ns = ns
    this.name = name
    this.#child = child
    this.ready = ready
    this.#stderr = stderr
  }

  get deviceID(): string {
    return this.ready.deviceID
  }

  /** Calls awaiting an answer (for the reader of the child's stdout). */
  pendingCalls(): Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }> {
    return this.#pending
  }

  stderrTail(lines = 40): string {
    return this.#stderr.slice(-lines).join('\n')
  }

  /** Starts a node in `ns`; it is stopped at the topology's teardown, before the namespaces go. */
  static async spawn(t: T, topo: Topology, ns: string, o: WanNodeOptions): Promise<WanNode> {
    const dataDir = await tempDir(t, 'tandem-wan-')
    const args = ['netns', 'exec', ns, process.execPath, SCRIPT, '--data-dir', dataDir, '--name', o.name]
    for (const l of o.listen ?? []) args.push('--listen', l)
    for (const r of o.relays ?? []) args.push('--relays', r)
    if (o.relayServer === true) args.push('--relay-server')
    if (o.stunPort !== undefined) args.push('--stun-port', String(o.stunPort))
    if (o.holePunch !== undefined) args.push('--hole-punch', JSON.stringify(o.holePunch))
    const child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const stderr: string[] = []
    let node: WanNode | undefined
    const exited = new Promise<void>((resolve) => child.once('exit', () => {
      for (const p of node?.pendingCalls().values() ?? []) p.reject(new Error(`${o.name} exited: ${stderr.slice(-10).join('\n')}`))
      resolve()
    }))
    topo.onTeardown(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.stdin?.end()
      const kill = setTimeout(() => child.kill('SIGKILL'), 8_000)
      await exited
      clearTimeout(kill)
    })
    createInterface({ input: child.stderr! }).on('line', (l) => {
      stderr.push(l)
      if (stderr.length > 1000) stderr.shift()
      if (process.env.TANDEM_TEST_LOG) console.error(`[${o.name}] ${l}`)
    })
    const ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${o.name} did not start: ${stderr.slice(-20).join('\n')}`)), 30_000)
      void exited.then(() => { clearTimeout(timer); reject(new Error(`${o.name} exited at start: ${stderr.slice(-20).join('\n')}`)) })
      createInterface({ input: child.stdout! }).on('line', (l) => {
        let msg: { event?: string; id?: number; ok?: boolean; result?: unknown; error?: { message: string; code?: string } }
        try { msg = JSON.parse(l) } catch { stderr.push(`(stdout) ${l}`); return }
        if (msg.event === 'ready') {
          clearTimeout(timer)
          resolve(msg as unknown as Ready)
          return
        }
        const p = node?.pendingCalls().get(msg.id ?? -1)
        if (p === undefined) return
        node!.pendingCalls().delete(msg.id!)
        if (msg.ok === true) p.resolve(msg.result)
        else p.reject(Object.assign(new Error(msg.error?.message ?? 'failed'), { code: msg.error?.code }))
      })
    })
    node = new WanNode(ns, o.name, child, ready, stderr)
    return node
  }

  call<R = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<R> {
    const id = this.#next++
    return new Promise((resolve, reject) => {
      if (this.#child.stdin?.writable !== true) return reject(new Error(`${this.name} is not running`))
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.#child.stdin.write(JSON.stringify({ id, cmd, args }) + '\n')
    })
  }
}
