/**
 * The window's browser transport (renderer/src/bridge/ws-bridge.ts) against the real loopback API
 * server and node, with Node's own WebSocket standing in for the browser's: calls, typed errors,
 * events, and reconnecting (and subscribing again) after the server comes back.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TandemNode } from '../../main/node/tandem-node.ts'
import { createApi } from '../../main/api/implementation.ts'
import { startApiServer } from '../../main/api/ws-server.ts'
import { ApiCallError } from '../../shared/api/errors.ts'
import type { EventName } from '../../shared/api/events.ts'
import { wsBridge } from '../../renderer/src/bridge/ws-bridge.ts'
import type { LinkState } from '../../renderer/src/bridge/bridge.ts'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'

const TOKEN = 'bridge-test-token-0123456789'

test('the browser bridge calls, gets typed errors and events, and reconnects when the node comes back', { timeout: 60_000 }, async (t) => {
  const node = await TandemNode.start({ dataDir: await tempDir(t), p2p: false })
  const api = createApi(node)
  let server = await startApiServer({ node, api, host: '127.0.0.1', port: 0, token: TOKEN })
  t.after(async () => {
    await server.close()
    await node.stop()
  })
  const bridge = wsBridge(server.address, TOKEN)
  t.after(() => bridge.close())
  const links: LinkState[] = []
  bridge.onLink((s) => links.push(s))
  const events: Array<[EventName, unknown]> = []
  bridge.subscribe((e, d) => events.push([e, d]))

  // A call made while still connecting waits for the socket.
  const info = await bridge.call('node.info')
  assert.equal(info.peerID, node.deviceID)
  assert.equal(links.at(-1), 'up')

  await bridge.call('collections.add', { sdl: 'type Books { title: String! }' })
  await eventually(() => events.some(([e]) => e === 'collection'), 'a collection event')

  await assert.rejects(bridge.call('documents.create', { collection: 'Books', doc: { title: 42 } }), (err: unknown) => {
    assert.ok(err instanceof ApiCallError)
    assert.equal(err.code, 'WRONG_TYPE')
    return true
  })

  // The node's API goes away: the window says so; it comes back on the same port: the window
  // reconnects, subscribes again and carries on.
  const port = server.port
  await server.close()
  await eventually(() => links.at(-1) === 'down', 'the link reported down')
  await assert.rejects(bridge.call('node.info'), (err: unknown) => err instanceof ApiCallError && err.code === 'UNREACHABLE', 'a call while down fails at once, in words')
  server = await startApiServer({ node, api, host: '127.0.0.1', port, token: TOKEN })
  await eventually(() => links.at(-1) === 'up', 'the link back up', 20_000)
  const before = events.length
  await bridge.call('documents.create', { collection: 'Books', doc: { title: 'Dune' } })
  await eventually(() => events.slice(before).some(([e, d]) => e === 'document' && (d as { origin: string }).origin === 'local'), 'events after the reconnect')
})
