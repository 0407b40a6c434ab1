/**
 * Black-box helpers: real `tandem start` processes (bin/tandem.js) on temp data dirs and loopback
 * ports, and `tandem client` runs against them. Nothing here touches the node's code directly.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'

export const BIN = fileURLToPath(new URL('../../bin/tandem.js', import.meta.url))

export interface Daemon {
  dataDir: string
  child: ChildProcess
  out: () => string
  err: () => string
  exit: Promise<number | null>
  /** SIGTERM, then the exit code. */
  stop: () => Promise<number | null>
}

/** Starts `tandem start` on `dataDir` (loopback only, no mDNS, API on a free port) and waits for its api.json. */
export async function startDaemon(t: TestContext, dataDir: string, extra: string[] = [], options: { p2p?: boolean } = {}): Promise<Daemon> {
  const args = ['start', '--data-dir', dataDir, '--api-addr', '127.0.0.1:0', '--no-mdns',
    ...(options.p2p === false ? ['--no-p2p'] : ['--p2paddr', '/ip4/127.0.0.1/tcp/0']), ...extra]
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { err += d })
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)))
  const d: Daemon = {
    dataDir, child, out: () => out, err: () => err, exit,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      return exit
    },
  }
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exit
    }
  })
  const end = Date.now() + 30_000
  while (!(existsSync(join(dataDir, 'api.json')) && out.includes('Press Ctrl+C'))) {
    if (child.exitCode !== null) throw new Error(`tandem start exited ${child.exitCode}: ${err}`)
    if (Date.now() > end) throw new Error(`tandem start did not get ready: ${out}\n${err}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return d
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  /** stdout parsed as JSON (throws with the whole output when it is not). */
  json: <T = any>() => T // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Runs `tandem <args>` and collects its output. */
export function tandem(args: string[], options: { input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    child.stdin.end(options.input ?? '')
    child.on('exit', (code) => resolve({
      code, stdout, stderr,
      json: () => {
        try {
          return JSON.parse(stdout)
        } catch {
          throw new Error(`not JSON (exit ${code}): ${stdout}\n${stderr}`)
        }
      },
    }))
  })
}

/** `tandem client --data-dir DIR <args>`, which must succeed; returns its JSON. */
export async function client<T = any>(dataDir: string, ...args: string[]): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await tandem(['client', '--data-dir', dataDir, ...args])
  if (r.code !== 0) throw new Error(`tandem client ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.json<T>()
}

/** `tandem client --data-dir DIR <args>`, which must fail with exit 1 and `code` on stderr. */
export async function clientFails(dataDir: string, code: string, ...args: string[]): Promise<string> {
  const r = await tandem(['client', '--data-dir', dataDir, ...args])
  if (r.code !== 1 || !r.stderr.includes(`[${code}]`)) {
    throw new Error(`expected tandem client ${args.join(' ')} to fail with ${code}; exit ${r.code}, stdout ${r.stdout}, stderr ${r.stderr}`)
  }
  if (r.stdout !== '') throw new Error(`a failed command printed to stdout: ${r.stdout}`)
  return r.stderr
}

export function apiFile(dataDir: string): { address: string; token: string } {
  return JSON.parse(readFileSync(join(dataDir, 'api.json'), 'utf8')) as { address: string; token: string }
}
