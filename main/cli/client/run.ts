/**
 * How every `tandem client` command runs: find the node (--api/--token, else <data-dir>/api.json),
 * call it, print the result as JSON on stdout; on failure print the message and code on stderr, exit 1.
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { ApiClient } from '../../api/ws-client.ts'
import { readApiFile } from '../api-file.ts'
import { defaultDataDir } from '../data-dir.ts'
import { TandemError } from '../../../shared/errors.ts'

export interface ConnectionOptions {
  dataDir?: string
  api?: string
  token?: string
}

export async function connect(opts: ConnectionOptions): Promise<ApiClient> {
  if (opts.api !== undefined || opts.token !== undefined) {
    if (opts.api === undefined || opts.token === undefined) throw new TandemError('INVALID_INPUT', '--api and --token go together.')
    return ApiClient.connect(opts.api, opts.token)
  }
  const dataDir = opts.dataDir ?? defaultDataDir()
  const file = await readApiFile(dataDir)
  try {
    return await ApiClient.connect(file.address, file.token)
  } catch (err) {
    if (err instanceof TandemError && err.code === 'UNREACHABLE') {
      throw new TandemError('UNREACHABLE', `No Tandem node is running on ${dataDir} (its api.json names ${file.address}, where nothing answers): start one with \`tandem start --data-dir ${dataDir}\`.`)
    }
    throw err
  }
}

export function printJSON(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value ?? null, null, 2)}\n`)
}

export function printError(err: unknown): void {
  const e = err as { code?: string; message?: string }
  process.stderr.write(`tandem: ${e.message ?? String(err)}${e.code !== undefined ? ` [${e.code}]` : ''}\n`)
}

/**
 * A command action: gets a connected client and the command's own arguments; what it returns is
 * printed as JSON (undefined: nothing printed — the action printed itself).
 */
export function action<A extends unknown[]>(fn: (client: ApiClient, ...args: A) => Promise<unknown>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command
    const conn = cmd.optsWithGlobals<ConnectionOptions>()
    let client: ApiClient | undefined
    try {
      client = await connect(conn)
      const result = await fn(client, ...(args.slice(0, -1) as A))
      if (result !== undefined) printJSON(result)
    } catch (err) {
      printError(err)
      process.exitCode = 1
    } finally {
      await client?.close()
    }
  }
}

/** A JSON argument ('-' reads it from stdin): bad JSON is an INVALID_INPUT error, not a crash. */
export function parseJSONArg(text: string, what: string): unknown {
  const source = text === '-' ? readFileSync(0, 'utf8') : text
  try {
    return JSON.parse(source)
  } catch (err) {
    throw new TandemError('INVALID_INPUT', `The ${what} is not valid JSON: ${(err as Error).message}`)
  }
}

export function parseIntArg(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new TandemError('INVALID_INPUT', `${what} must be a whole number, not "${text}".`)
  return Number(text)
}
