/** The IPC transport with stand-ins for ipcMain and a window: sender checks, outcomes, events. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TandemNode } from '../../main/node/tandem-node.ts'
import { createApi } from '../../main/api/implementation.ts'
import { serveIpc, type IpcInvokeEvent } from '../../main/api/ipc-transport.ts'
import { IPC_CALL, IPC_EVENT, type CallOutcome } from '../../shared/api/ipc.ts'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'

test('IPC: calls from the app page only, typed outcomes, events to the windows', async (t) => {
  const node = await TandemNode.start({ dataDir: await tempDir(t), p2p: false })
  t.after(() => node.stop())
  const handlers = new Map<string, (e: IpcInvokeEvent, ...a: unknown[]) => unknown>()
  const sent: unknown[][] = []
  const stop = serveIpc({
    ipcMain: { handle: (c, l) => { handlers.set(c, l) }, removeHandler: (c) => { handlers.delete(c) } },
    api: createApi(node), node,
    isTrustedSender: (url) => url.startsWith('app://tandem/'),
    windows: () => [{ send: (...a) => { sent.push(a) }, isDestroyed: () => false }],
  })
  const invoke = (url: string | null, name: unknown, input?: unknown): Promise<CallOutcome> =>
    Promise.resolve(handlers.get(IPC_CALL)!({ senderFrame: url === null ? null : { url } }, name, input) as CallOutcome)

  assert.deepEqual((await invoke('https://evil.example/', 'collections.list')).ok, false)
  assert.equal(((await invoke(null, 'collections.list')) as { error: { code: string } }).error.code, 'UNAUTHORIZED')
  const app = 'app://tandem/index.html'
  assert.equal(((await invoke(app, 42)) as { error: { code: string } }).error.code, 'UNKNOWN_CALL')
  assert.equal(((await invoke(app, 'collections.add', { sdl: 5 })) as { error: { code: string } }).error.code, 'INVALID_INPUT')
  const added = await invoke(app, 'collections.add', { sdl: 'type Notes { text: String }' })
  assert.equal(added.ok, true)
  const created = await invoke(app, 'documents.create', { collection: 'Notes', doc: { text: 'hi' } })
  assert.equal(created.ok, true)
  await eventually(() => sent.some(([c, f]) => c === IPC_EVENT && (f as { event: string }).event === 'document'), 'a document event on IPC_EVENT')
  stop()
  assert.equal(handlers.size, 0)
})
