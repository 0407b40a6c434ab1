/**
 * The contract over Electron IPC (shapes and channels in shared/api/ipc.ts): `IPC_CALL` invokes a
 * call and answers a CallOutcome; every contract event goes to the app's windows on `IPC_EVENT`.
 * Written against the few members of ipcMain and WebContents it uses, so it imports nothing from
 * electron and is tested without it. Each call is checked: the sender's frame must be one of the
 * app's own pages, then the implementation validates the input as for any transport.
 */
import { IPC_CALL, IPC_EVENT, type CallOutcome } from '../../shared/api/ipc.ts'
import type { TandemNode } from '../node/tandem-node.ts'
import { bridgeEvents } from './event-bridge.ts'
import type { ApiImplementation } from './implementation.ts'

export interface IpcSender {
  send(channel: string, ...args: unknown[]): void
  isDestroyed(): boolean
}
export interface IpcInvokeEvent {
  senderFrame: { url: string } | null
}
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcInvokeEvent, ...args: unknown[]) => unknown): void
  removeHandler(channel: string): void
}

export interface IpcTransportOptions {
  ipcMain: IpcMainLike
  api: ApiImplementation
  node: TandemNode
  /** True for the app's own pages only (e.g. main/electron/app-url.ts isAppUrl). */
  isTrustedSender: (frameUrl: string) => boolean
  /** The windows that get events (e.g. BrowserWindow.getAllWindows().map((w) => w.webContents)). */
  windows: () => IpcSender[]
}

const UNTRUSTED: CallOutcome = { ok: false, error: { code: 'UNAUTHORIZED', message: 'This page may not use the Tandem API.' } }

/** Serves the API on IPC until the returned function is called. */
export function serveIpc(o: IpcTransportOptions): () => void {
  o.ipcMain.handle(IPC_CALL, async (e, name, input): Promise<CallOutcome> => {
    if (e.senderFrame === null || !o.isTrustedSender(e.senderFrame.url)) return UNTRUSTED
    const r = await o.api.call(typeof name === 'string' ? name : '', input)
    return r.ok ? { ok: true, result: r.result ?? null } : { ok: false, error: r.error }
  })
  const detach = bridgeEvents(o.node, o.api, (event, data) => {
    for (const w of o.windows()) if (!w.isDestroyed()) w.send(IPC_EVENT, { event, data })
  })
  return () => {
    detach()
    o.ipcMain.removeHandler(IPC_CALL)
  }
}
