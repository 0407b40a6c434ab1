/**
 * Electron security checklist items that are not window options: permissions, new windows,
 * navigation, <webview>. https://www.electronjs.org/docs/latest/tutorial/security
 */
import { app, type Session, type WebContents } from 'electron'
import { cameraAllowed, isAllowedNavigation } from './app-url.ts'

/**
 * Every web permission is refused except the camera, and that only for our own page while it shows
 * This device (where an invite QR can be scanned) and only for video.
 */
export function restrictPermissions(session: Session, devOrigin: string | null): void {
  session.setPermissionRequestHandler((webContents, permission, callback, details) => {
    const media = 'mediaTypes' in details ? (details.mediaTypes ?? []) : []
    callback(permission === 'media' && cameraAllowed(webContents.getURL(), media, devOrigin))
  })
  // Checks are the synchronous "is it granted?" queries; without this some APIs still report yes.
  session.setPermissionCheckHandler(() => false)
}

function lockDown(contents: WebContents, devOrigin: string | null): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  const refuseForeign = (event: Electron.Event<{ url: string }>): void => {
    if (!isAllowedNavigation(event.url, devOrigin)) event.preventDefault()
  }
  contents.on('will-navigate', refuseForeign)
  contents.on('will-redirect', refuseForeign)
  contents.on('will-attach-webview', (event) => event.preventDefault())
}

/**
 * Applies `lockDown` to every web contents the app ever creates, so a window added later cannot
 * forget it. Call before the first window exists.
 */
export function lockDownAllWebContents(devOrigin: string | null): void {
  app.on('web-contents-created', (_event, contents) => lockDown(contents, devOrigin))
}
