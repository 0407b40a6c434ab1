/**
 * A real headless node with the window (`tandem start --ui`) as a child process: temp data dir,
 * API and libp2p on 127.0.0.1 with OS-chosen ports, no mDNS. Resolves with the page URL it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers/tmp.ts'
import { client } from '../cli/cli.ts'

const BIN = fileURLToPath(new URL('../../bin/tandem.js', import.meta.url))

export interface UiNode {
  url: string
  output: () => string
  stop: () => Promise<void>
}

export interface UiNodeOptions {
  /** More environment for the child (e.g. the test-only TANDEM_TEST_SLOW_UPGRADE_MS). */
  env?: Record<string, string>
  /** Resolve with the URL printed as soon as the window is served, before the node has started. */
  early?: boolean
}

/** `extra`: more `tandem start` options (e.g. `--anti-entropy 1`). */
export async function startUiNode(dataDir: string, name: string, timeoutMs = 30_000, extra: string[] = [], options: UiNodeOptions = {}): Promise<UiNode> {
  const child: ChildProcess = spawn(process.execPath, [
    BIN, 'start', '--ui', '--data-dir', dataDir, '--api-addr', '127.0.0.1:0',
    '--p2paddr', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--device-name', name, ...extra,
  ], { stdio: ['ignore', 'pipe', 'pipe'], ...(options.env !== undefined ? { env: { ...process.env, ...options.env } } : {}) })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no UI URL after ${timeoutMs} ms:\n${out}`)), timeoutMs)
    const check = (): void => {
      const m = (options.early === true ? /the window: (http:\/\/\S+)/ : /UI:\s+(http:\/\/\S+)/).exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    child.stdout!.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited (${code}) before printing its UI URL:\n${out}`))
    })
  })
  return {
    url,
    output: () => out,
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await once(child, 'exit')
      clearTimeout(timer)
    },
  }
}

/**
 * Two `tandem start --ui` nodes, Laptop and Phone, in fresh data directories, both stopped after
 * the test, each with the collection `sdl`. `pair()` pairs Phone with Laptop by invite.
 */
export async function twoUiNodes(t: TestContext, sdl: string): Promise<{ dirA: string; dirB: string; a: UiNode; b: UiNode; pair: () => Promise<void> }> {
  const [dirA, dirB] = [join(await tempDir(t), 'a'), join(await tempDir(t), 'b')]
  const nodes: UiNode[] = []
  t.after(async () => { await Promise.all(nodes.map((n) => n.stop())) })
  const [a, b] = await Promise.all([startUiNode(dirA, 'Laptop'), startUiNode(dirB, 'Phone')])
  nodes.push(a, b)
  await client(dirA, 'collection', 'add', sdl)
  await client(dirB, 'collection', 'add', sdl)
  const pair = async (): Promise<void> => {
    const { uri } = await client<{ uri: string }>(dirA, 'pair', 'invite')
    await client(dirB, 'pair', 'join', uri)
  }
  return { dirA, dirB, a, b, pair }
}
