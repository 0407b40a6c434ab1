/** `--api-addr HOST:PORT`: loopback only (the API is for this machine's user; the token is not meant to cross a network). */
import { isIP } from 'node:net'

export class UsageError extends Error {}

export function parseApiAddr(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim())
  if (m === null) throw new UsageError(`--api-addr wants HOST:PORT (e.g. 127.0.0.1:9181), not "${text}".`)
  let host = (m[1] ?? m[2])!.toLowerCase()
  const port = Number(m[3])
  if (port > 65535) throw new UsageError(`--api-addr: ${port} is not a port.`)
  if (host === 'localhost') host = '127.0.0.1'
  const loopback = (isIP(host) === 4 && host.startsWith('127.')) || host === '::1'
  if (!loopback) throw new UsageError(`--api-addr: the API listens on loopback only (127.0.0.1 or ::1), not ${host}.`)
  return { host, port }
}
