/**
 * Preload (sandboxed, so built as CommonJS). Exposes `window.tandem`; never `ipcRenderer` itself.
 * A placeholder until the typed API contract in shared/ exists: then one method per operation.
 */
import { contextBridge } from 'electron'

// Replaced at build time with package.json's version (electron.vite.config.ts `define`): a
// sandboxed preload cannot read files.
declare const __TANDEM_VERSION__: string

const api = {
  version: __TANDEM_VERSION__,
} as const

export type TandemApi = typeof api

contextBridge.exposeInMainWorld('tandem', api)
