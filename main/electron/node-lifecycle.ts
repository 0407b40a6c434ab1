/**
 * The node inside the desktop app: started on the app's data directory, with its API carried over
 * IPC, and stopped cleanly (LevelDB closed, peers told) before the app exits.
 *
 * The window opens before the node has started, so a long store upgrade shows in it: until the node
 * is up the IPC bridge answers like `tandem start --ui` does (main/api/starting.ts), every call
 * NODE_STARTING but `node.status`, with `node:status` events as the upgrade goes.
 *
 * The node and the API implementation are imported when the app is ready, so the bundler puts them
 * in their own chunk: the window opens without waiting to parse libp2p, and out/main/index.js holds
 * only the shell that the security scan (electronegativity) reads.
 */
import { app, type BrowserWindow } from 'electron'
import { registerIpc } from './ipc.ts'

/** `openWindow` is called once the IPC handlers exist (so the page's first calls find them), before the node starts. */
export async function startNode(windows: () => BrowserWindow[], devOrigin: string | null, openWindow: () => void): Promise<void> {
  const { startingApi } = await import('../api/starting.ts')
  const starting = startingApi()
  const unregister = registerIpc(starting.api, starting.events, windows, devOrigin)
  openWindow()
  const [{ TandemNode }, { createApi }] = await Promise.all([import('../node/tandem-node.ts'), import('../api/implementation.ts')])
  let node: Awaited<ReturnType<typeof TandemNode.start>>
  try {
    node = await TandemNode.start({
      dataDir: app.getPath('userData'),
      onUpgradeProgress: starting.upgradeProgress,
      log: (msg) => console.log(`${new Date().toISOString()} ${msg}`),
    })
  } catch (err) {
    unregister()
    throw err
  }
  starting.ready(node, createApi(node))
  let stopping = false
  app.on('before-quit', (event) => {
    if (stopping) return
    stopping = true
    event.preventDefault()
    unregister()
    node.stop().catch((err: unknown) => console.error('tandem: the node did not stop cleanly:', err)).finally(() => app.exit(0))
  })
}
