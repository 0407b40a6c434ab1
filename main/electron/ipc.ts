/**
 * The contract over Electron IPC: one `ipcMain.handle` for every call and one channel for events
 * (shared/api/ipc.ts). Each call is accepted only from our own page in the main frame of our own
 * window; its input is then validated by the same implementation the WebSocket uses.
 */
import { ipcMain, type BrowserWindow } from 'electron'
import { IPC_CALL, IPC_EVENT, type CallOutcome } from '../../shared/api/ipc.ts'
import type { ApiImplementation } from '../api/implementation.ts'
import type { EventSink } from '../api/event-bridge.ts'
import { isAllowedNavigation } from './app-url.ts'
import { senderAllowed } from './ipc-sender.ts'

/** `attachEvents` connects the node's events to a sink and returns how to detach them (main/api/event-bridge.ts). */
export function registerIpc(
  api: ApiImplementation,
  attachEvents: (sink: EventSink) => () => void,
  windows: () => BrowserWindow[],
  devOrigin: string | null,
): () => void {
  ipcMain.handle(IPC_CALL, async (event, name: unknown, input: unknown): Promise<CallOutcome> => {
    const ownWindow = windows().some((w) => !w.isDestroyed() && w.webContents === event.sender)
    if (!senderAllowed({ frame: event.senderFrame, mainFrame: event.sender.mainFrame, ownWindow }, devOrigin)) {
      return { ok: false, error: { code: 'UNAUTHORIZED', message: 'Calls are accepted only from the Tandem window.' } }
    }
    return api.call(typeof name === 'string' ? name : '', input)
  })
  const detach = attachEvents((event, data) => {
    for (const w of windows()) {
      if (!w.isDestroyed() && isAllowedNavigation(w.webContents.getURL(), devOrigin)) w.webContents.send(IPC_EVENT, { event, data })
    }
  })
  return () => {
    detach()
    ipcMain.removeHandler(IPC_CALL)
  }
}
