/** The one application window. */
import { BrowserWindow } from 'electron'
import { allowBackupDownloads } from './downloads.ts'

export interface MainWindowOptions {
  /** Absolute path of the built preload script (CommonJS: a sandboxed preload cannot be ESM). */
  preload: string
  /** `app://tandem/index.html`, or the dev server URL under `electron-vite dev`. */
  url: string
}

export function createMainWindow({ preload, url }: MainWindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    width: 1100,
    height: 720,
    minWidth: 640,
    minHeight: 420,
    title: 'Tandem',
    show: false, // shown on ready-to-show, so no blank frame flashes
    webPreferences: {
      // Reviewed (electronegativity PRELOAD_JS_CHECK): it exposes exactly the contract's call +
      // subscribe; tests/build checks the built file.
      preload,
      // Set explicitly even where they are Electron's defaults: the values are part of the
      // security review, and tests/build checks them in the built output.
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      // A middle click must not open links in a new window (electronegativity AUXCLICK_JS_CHECK).
      disableBlinkFeatures: 'Auxclick',
    },
  })
  allowBackupDownloads(window)
  window.once('ready-to-show', () => window.show())
  // Rejects when a load fails or is superseded; log it rather than leave the rejection unhandled.
  window.loadURL(url).catch((err: unknown) => console.error(`tandem: could not load ${url}:`, err))
  return window
}
