/**
 * The node inside the desktop app: started on the app's data directory, with its API carried over
 * IPC, and stopped cleanly (LevelDB closed, peers told) before the app exits.
 */
import { app, type BrowserWindow } from 'electron'
import { TandemNode } from '../node/tandem-node.ts'
import { createApi } from '../api/implementation.ts'
import { registerIpc } from './ipc.ts'

export async function startNode(windows: () => BrowserWindow[], devOrigin: string | null): Promise<void> {
  const node = await TandemNode.start({
    dataDir: app.getPath('userData'),
    log: (msg) => console.log(`${new Date().toISOString()} ${msg}`),
  })
  const unregister = registerIpc(node, createApi(node), windows, devOrigin)
  let stopping = false
  app.on('before-quit', (event) => {
    if (stopping) return
    stopping = true
    event.preventDefault()
    unregister()
    node.stop().catch((err: unknown) => console.error('tandem: the node did not stop cleanly:', err)).finally(() => app.exit(0))
  })
}
