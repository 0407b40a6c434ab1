/**
 * The node inside the desktop app: started on the app's data directory, with its API carried over
 * IPC, and stopped cleanly (LevelDB closed, peers told) before the app exits.
 *
 * The node and the API implementation are imported when the app is ready, so the bundler puts them
 * in their own chunk: the window opens without waiting to parse libp2p, and out/main/index.js holds
 * only the shell that the security scan (electronegativity) reads.
 */
import { app, type BrowserWindow } from 'electron'
import { registerIpc } from './ipc.ts'

export async function startNode(windows: () => BrowserWindow[], devOrigin: string | null): Promise<void> {
  const [{ TandemNode }, { createApi }, { bridgeEvents }] = await Promise.all([
    import('../node/tandem-node.ts'), import('../api/implementation.ts'), import('../api/event-bridge.ts'),
  ])
  const node = await TandemNode.start({
    dataDir: app.getPath('userData'),
    log: (msg) => console.log(`${new Date().toISOString()} ${msg}`),
  })
  const api = createApi(node)
  const unregister = registerIpc(api, (sink) => bridgeEvents(node, api, sink), windows, devOrigin)
  let stopping = false
  app.on('before-quit', (event) => {
    if (stopping) return
    stopping = true
    event.preventDefault()
    unregister()
    node.stop().catch((err: unknown) => console.error('tandem: the node did not stop cleanly:', err)).finally(() => app.exit(0))
  })
}
