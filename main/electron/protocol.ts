/** Serves the built renderer (out/renderer) at `app://tandem/…` with `protocol.handle`. */
import { stat } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import { net, protocol, type Session } from 'electron'
import { APP_CSP, APP_SCHEME, resolveAppFile } from './app-url.ts'

/** Must run before `app` is ready: privileges cannot be granted later. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{
    scheme: APP_SCHEME,
    // standard: relative URLs and a real origin; secure: treated like https (CSP 'self', secure
    // context); supportFetchAPI: fetch() of our own assets. Nothing else (no bypassCSP, no service
    // workers).
    privileges: { standard: true, secure: true, supportFetchAPI: true },
  }])
}

function plain(status: number, text: string): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } })
}

/** Maps `app://tandem/<path>` to files under `rootDir`; anything outside it is refused. */
export function handleAppProtocol(session: Session, rootDir: string): void {
  session.protocol.handle(APP_SCHEME, async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405, 'method not allowed')
    const file = resolveAppFile(rootDir, request.url)
    if (file === null) return plain(403, 'forbidden')
    // Only regular files: a directory URL would otherwise get Chromium's file:// listing.
    const info = await stat(file).catch(() => null) // not there (or unreadable): answered 404 below
    if (info === null || !info.isFile()) return plain(404, 'not found')
    // net.fetch of a file: URL sets the MIME type from the extension (module scripts need it).
    const response = await net.fetch(pathToFileURL(file).toString())
    const headers = new Headers(response.headers)
    headers.set('content-security-policy', APP_CSP)
    headers.set('x-content-type-options', 'nosniff')
    return new Response(response.body, { status: response.status, headers })
  })
}
