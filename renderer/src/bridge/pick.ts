/**
 * Chooses the transport: the preload's `window.tandem` in Electron; otherwise the WebSocket of the
 * page's own host, with the token from `#token=…`. The token is then moved out of the address bar
 * (kept in sessionStorage so a reload still works) so it is not shared by a screenshot or a copy.
 */
import type { PreloadApi } from '../../../shared/api/ipc.ts'
import type { Bridge } from './bridge.ts'
import { ipcBridge } from './ipc-bridge.ts'
import { wsBridge } from './ws-bridge.ts'

const TOKEN_KEY = 'tandem.token'

export function pickBridge(): Bridge | null {
  const preload = (window as unknown as { tandem?: PreloadApi }).tandem
  if (preload !== undefined) return ipcBridge(preload)
  const fromHash = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash)?.[1]
  if (fromHash !== undefined) {
    sessionStorage.setItem(TOKEN_KEY, fromHash)
    history.replaceState(null, '', `${location.pathname}#/collections`)
  }
  const token = fromHash ?? sessionStorage.getItem(TOKEN_KEY)
  if (token === null) return null
  return wsBridge(location.host, token)
}
