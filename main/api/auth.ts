/**
 * Who may use the loopback API: whoever shows the token (from `<data-dir>/api.json`, mode 0600,
 * so only this OS user), from a page of our own origin or from no browser at all. Loopback alone is
 * not enough: any local process, and any web page through the browser, can reach 127.0.0.1.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { TOKEN_PROTOCOL_PREFIX } from '../../shared/api/index.ts'

export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

/** Constant-time, whatever the lengths (both sides hashed first). */
export function tokenMatches(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(token).digest()
  return timingSafeEqual(a, b)
}

/** The token a request carries: in a `tandem-token.<token>` subprotocol, or in `?token=`. */
export function tokenOf(req: IncomingMessage): string | null {
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
  const fromProtocol = protocols.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX))
  if (fromProtocol !== undefined) return fromProtocol.slice(TOKEN_PROTOCOL_PREFIX.length)
  const url = new URL(req.url ?? '/', 'http://localhost')
  return url.searchParams.get('token')
}

/** Browsers send Origin: only pages we serve ourselves (the --ui) may connect; non-browser clients send none. */
export function originAllowed(req: IncomingMessage, ownOrigins: readonly string[]): boolean {
  const origin = req.headers.origin
  return origin === undefined || ownOrigins.includes(origin)
}

/** The Host header must name us by a loopback name (DNS rebinding: a page whose name resolves to 127.0.0.1). */
export function hostAllowed(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host
  if (host === undefined) return true
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase())
}
