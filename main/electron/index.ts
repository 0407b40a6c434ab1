/**
 * Electron main process: a thin shell. It opens the one window, starts the node in-process on the
 * app's data directory, and carries the API contract over IPC (answering "starting" until the node is up).
 */
import { join } from 'node:path'
import { app, BrowserWindow, dialog, session } from 'electron'
import { APP_ENTRY_URL, devServerOrigin } from './app-url.ts'
import { handleAppProtocol, registerAppScheme } from './protocol.ts'
import { restrictPermissions, lockDownAllWebContents } from './security.ts'
import { createMainWindow } from './window.ts'
import { startNode } from './node-lifecycle.ts'

// After bundling this file is out/main/index.js; the preload and renderer builds sit beside it.
const PRELOAD = join(import.meta.dirname, '../preload/index.cjs')
const RENDERER_DIR = join(import.meta.dirname, '../renderer')

// Every renderer sandboxed, whatever a window's options say (Electron security checklist); must
// run before the app is ready.
app.enableSandbox()

// The dev server URL is honoured only in an unpackaged run: a packaged app always loads its bundle.
const devOrigin = app.isPackaged ? null : devServerOrigin(process.env['ELECTRON_RENDERER_URL'])

let mainWindow: BrowserWindow | null = null

function openWindow(): void {
  mainWindow = createMainWindow({ preload: PRELOAD, url: devOrigin === null ? APP_ENTRY_URL : `${devOrigin}/` })
  mainWindow.on('closed', () => { mainWindow = null })
}

// One process owns the data directory: a second launch focuses the first window and exits.
if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  registerAppScheme()
  lockDownAllWebContents(devOrigin)

  app.on('second-instance', () => {
    if (mainWindow === null) return
    if (mainWindow.isMinimized()) mainWindow.restore()
    mainWindow.focus()
  })

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })

  // Not a top-level `await`: Electron emits `ready` only after the ESM entry has finished
  // evaluating, so awaiting it here would hang (electron/electron#41369).
  void app.whenReady().then(async () => {
    restrictPermissions(session.defaultSession, devOrigin)
    handleAppProtocol(session.defaultSession, RENDERER_DIR)
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) openWindow()
    })
    try {
      // The window opens first (once the IPC handlers exist), and shows the node starting or upgrading its data.
      await startNode(() => BrowserWindow.getAllWindows(), devOrigin, openWindow)
    } catch (err) {
      dialog.showErrorBox('Tandem cannot start', err instanceof Error ? err.message : String(err))
      app.exit(1)
    }
  })
}
