/**
 * Where the app's own pages live, as pure functions (no `electron` import) so plain Node tests can
 * exercise them. The renderer is served from `app://tandem/…` rather than `file://`: a standard,
 * secure custom scheme gives the page a real origin for CSP `'self'`, and the main process decides
 * exactly which files are reachable.
 */
import { isAbsolute, join, relative, sep } from 'node:path'
import { ELECTRON_HEADER_CSP } from '../../shared/csp.ts'

export const APP_SCHEME = 'app'
export const APP_HOST = 'tandem'
export const APP_ENTRY_URL = `${APP_SCHEME}://${APP_HOST}/index.html`

/**
 * The window's Content-Security-Policy as the app:// handler sends it (shared/csp.ts): the page's
 * <meta> policy without the loopback WebSocket, which only the browser window needs. No inline
 * script or style, nothing remote, no socket, no framing.
 */
export const APP_CSP = ELECTRON_HEADER_CSP

function parse(url: string): URL | null {
  try {
    return new URL(url)
  } catch {
    return null
  }
}

/** True for URLs of our own bundle. (`URL.origin` is `'null'` for non-special schemes, so compare parts.) */
export function isAppUrl(url: string): boolean {
  const parsed = parse(url)
  return parsed !== null && parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST
}

/**
 * The file under `rootDir` that an `app://tandem/…` request names, or null when the request is for
 * another host or would leave `rootDir` (`..`, encoded `%2e%2e` or `%2f`, backslashes on Windows).
 */
export function resolveAppFile(rootDir: string, url: string): string | null {
  const parsed = parse(url)
  if (parsed === null || parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST) return null
  let pathname: string
  try {
    pathname = decodeURIComponent(parsed.pathname)
  } catch {
    return null // malformed percent-encoding
  }
  if (pathname.includes('\0')) return null
  if (pathname === '' || pathname === '/') pathname = '/index.html'
  // Check after decoding: the URL parser has already removed literal dot segments, but decoding
  // can bring new ones back.
  const file = join(rootDir, pathname)
  const rel = relative(rootDir, file)
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null
  return file
}

/**
 * Whether a frame may navigate to `url`: only our own bundle, or in development the electron-vite
 * dev server's origin.
 */
export function isAllowedNavigation(url: string, devOrigin: string | null): boolean {
  if (isAppUrl(url)) return true
  if (devOrigin === null) return false
  const parsed = parse(url)
  return parsed !== null && parsed.origin === devOrigin
}

/**
 * The dev server origin from `ELECTRON_RENDERER_URL` (set by `electron-vite dev`), accepted only
 * for http on loopback so a stray environment variable cannot point the window at the internet.
 */
export function devServerOrigin(rendererUrl: string | undefined): string | null {
  if (rendererUrl === undefined || rendererUrl === '') return null
  const parsed = parse(rendererUrl)
  if (parsed === null || parsed.protocol !== 'http:') return null
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) return null
  return parsed.origin
}

/**
 * The one permission the window may get: the camera (video only, never the microphone), for our own
 * page while it shows This device (`#/device`), to scan an invite QR.
 */
export function cameraAllowed(pageUrl: string, mediaTypes: readonly string[], devOrigin: string | null): boolean {
  if (!isAllowedNavigation(pageUrl, devOrigin)) return false
  if (mediaTypes.length === 0 || mediaTypes.some((t) => t !== 'video')) return false
  return parse(pageUrl)?.hash === '#/device'
}
