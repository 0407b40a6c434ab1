/** Drives one chaos node process (./fixtures/chaos-node.ts): start, call, SIGKILL, restart on the same data dir. */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Command, Commands, ReadyEvent, Reply } from './protocol.ts'

const SCRIPT = fileURLToPath(new URL('./fixtures/chaos-node.ts', import.meta.url))

interface PendingCall { resolve: (v: unknown) => void; reject: (e: Error) => void }

export class NodeProcess {
  readonly index: number
  readonly dataDir: string
  readonly port: number
  deviceID = ''
  /** True from ready until the process exits. */
  up = false
  #child: ChildProcess | null = null
  #pending = new Map<number, PendingCall>()
  #nextId = 1
  #exited: Promise<void> = Promise.resolve()
  readonly stderr: string[] = []

  constructor(index: number, dataDir: string, port: number) {
    this.index = index
    this.dataDir = dataDir
    this.port = port
  }

  get running(): boolean {
    return this.#child !== null && this.#child.exitCode === null && this.#child.signalCode === null
  }

  /** /ip4/127.0.0.1/tcp/<port>/p2p/<device>: the same across restarts. */
  get addr(): string {
    return `/ip4/127.0.0.1/tcp/${this.port}/p2p/${this.deviceID}`
  }

  /** Starts the process and waits until its node runs. */
  async start(deny: string[] = [], readyMs = 60_000): Promise<void> {
    const args = [SCRIPT, '--data-dir', this.dataDir, '--port', String(this.port)]
    for (const d of deny) args.push('--deny', d)
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    this.#child = child
    const pending = new Map<number, PendingCall>()
    this.#pending = pending
    let onReady: ((e: ReadyEvent) => void) | null = null
    const ready = new Promise<ReadyEvent>((resolve) => { onReady = resolve })
    this.#exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
      this.up = false
      for (const p of pending.values()) p.reject(new Error(`node ${this.index} exited (${signal ?? code})`))
      pending.clear()
      resolve()
    }))
    createInterface({ input: child.stderr! }).on('line', (l) => {
      this.stderr.push(l)
      if (this.stderr.length > 300) this.stderr.shift()
      if (process.env.CHAOS_LOG === '1') process.stderr.write(`[n${this.index}] ${l}\n`)
    })
    createInterface({ input: child.stdout! }).on('line', (l) => {
      let msg: ReadyEvent | Reply
      try {
        msg = JSON.parse(l) as ReadyEvent | Reply
      } catch {
        this.stderr.push(`(stdout) ${l}`)
        return
      }
      if ('event' in msg) { onReady!(msg); return }
      const p = pending.get(msg.id)
      if (p === undefined) return
      pending.delete(msg.id)
      if (msg.ok) p.resolve(msg.result)
      else p.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }))
    })
    let timer: NodeJS.Timeout | undefined
    const r = await Promise.race([
      ready,
      this.#exited.then(() => { throw new Error(`node ${this.index} exited before it was ready: ${this.stderr.slice(-15).join('\n')}`) }),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`node ${this.index} not ready after ${readyMs} ms`)), readyMs) }),
    ]).finally(() => clearTimeout(timer))
    if (this.deviceID !== '' && r.deviceID !== this.deviceID) throw new Error(`node ${this.index} came back as another device`)
    this.deviceID = r.deviceID
    this.up = this.running
  }

  call<C extends Command>(cmd: C, args: Commands[C]['args'], ms = 60_000): Promise<Commands[C]['result']> {
    const child = this.#child
    if (child === null || !this.running || child.stdin?.writable !== true) return Promise.reject(new Error(`node ${this.index} is not running`))
    const id = this.#nextId++
    const pending = this.#pending
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new Error(`node ${this.index}: ${cmd} got no answer in ${ms} ms`))
      }, ms)
      pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v as Commands[C]['result']) },
        reject: (e) => { clearTimeout(timer); reject(e) },
      })
      child.stdin!.write(JSON.stringify({ id, cmd, args }) + "\n")
    })
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(): Promise<void> {
    if (this.#child !== null && this.running) this.#child.kill('SIGKILL')
    await this.#exited
  }

  /** Stops the node cleanly (kills it if it does not exit in `ms`). */
  async stop(ms = 15_000): Promise<void> {
    if (!this.running) { await this.#exited; return }
    const timer = setTimeout(() => this.#child?.kill('SIGKILL'), ms)
    await this.call('stop', {}, ms).catch(() => {})
    await this.#exited
    clearTimeout(timer)
  }
}
