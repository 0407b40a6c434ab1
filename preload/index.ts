/**
 * Preload (sandboxed, so built as CommonJS). Exposes `window.tandem`: exactly the contract — one
 * `call` and one `subscribe` (shared/api/ipc.ts) — and never `ipcRenderer` or an IPC event object.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { IPC_CALL, IPC_EVENT, type CallOutcome, type PreloadApi } from '../shared/api/ipc.ts'
import type { EventName } from '../shared/api/events.ts'

type Listener = (event: EventName, data: unknown) => void
const listeners = new Set<Listener>()

// One IPC listener for the page's many subscribers; the IPC event object stays here.
ipcRenderer.on(IPC_EVENT, (_e: IpcRendererEvent, frame: { event: EventName; data: unknown }) => {
  for (const l of listeners) {
    try {
      l(frame.event, frame.data)
    } catch (err) {
      console.error('tandem: an event listener threw', err)
    }
  }
})

const api: PreloadApi = {
  call(name: string, input?: unknown): Promise<CallOutcome> {
    if (typeof name !== 'string') return Promise.resolve({ ok: false, error: { code: 'UNKNOWN_CALL', message: 'A call name is a string.' } })
    return ipcRenderer.invoke(IPC_CALL, name, input) as Promise<CallOutcome>
  },
  subscribe(listener: Listener): () => void {
    if (typeof listener !== 'function') throw new TypeError('subscribe takes a function')
    listeners.add(listener)
    return () => { listeners.delete(listener) }
  },
}

contextBridge.exposeInMainWorld('tandem', api)
