/**
 * The loopback WebSocket transport, in process, against a real node (LevelDB on disk, network off):
 * the token (missing, wrong, in a subprotocol or ?token=), browser origins, malformed frames,
 * unknown calls, invalid inputs, events to subscribers only, the frame size limit.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import WebSocket from 'ws'
import { TandemNode } from '../../main/node/tandem-node.ts'
import { createApi } from '../../main/api/implementation.ts'
import { startApiServer, type ApiServer } from '../../main/api/ws-server.ts'
import { ApiClient } from '../../main/api/ws-client.ts'
import { API_PROTOCOL, CALLS, MAX_FRAME_BYTES, TOKEN_PROTOCOL_PREFIX, type ApiEvents } from '../../shared/api/index.ts'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'

const TOKEN = 'test-token-0123456789abcdef'

async function serve(t: TestContext, uiDir?: string): Promise<{ node: TandemNode; server: ApiServer; url: string }> {
  const node = await TandemNode.start({ dataDir: await tempDir(t), p2p: false })
  const server = await startApiServer({ node, api: createApi(node), host: '127.0.0.1', port: 0, token: TOKEN, ...(uiDir !== undefined ? { uiDir } : {}) })
  t.after(async () => {
    await server.close()
    await node.stop()
  })
  return { node, server, url: `ws://${server.address}/api` }
}

/** Opens a raw socket; resolves with it, or with the HTTP status it was refused with. */
function open(url: string, protocols: string[] = [], headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers })
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate() })
    ws.once('error', reject)
  })
}

function nextFrame(ws: WebSocket): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()))))
}

test('calls without the right token, from a foreign origin, or on another path are refused', async (t) => {
  const { server, url } = await serve(t)
  assert.equal(await open(url), 401, 'no token')
  assert.equal(await open(url, [API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}wrong`]), 401, 'wrong token')
  assert.equal(await open(`${url}?token=${TOKEN}x`), 401, 'wrong token in the query')
  assert.equal(await open(url, [API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${TOKEN}`], { origin: 'https://evil.example' }), 403, 'foreign origin')
  assert.equal(await open(url, [API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${TOKEN}`], { host: 'evil.example' }), 403, 'DNS-rebound host name')
  assert.equal(await open(`ws://${server.address}/other`, [API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${TOKEN}`]), 404)

  const ok = await open(url, [API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${TOKEN}`], { origin: `http://${server.address}` })
  assert.ok(ok instanceof WebSocket, 'the token in a subprotocol, from the served UI origin')
  assert.equal(ok.protocol, API_PROTOCOL, 'the server answers with the API protocol, never the token')
  ok.close()
  const query = await open(`${url}?token=${TOKEN}`)
  assert.ok(query instanceof WebSocket, 'the token as ?token=')
  query.send(JSON.stringify({ id: 1, call: 'node.info' }))
  const info = await nextFrame(query)
  assert.equal(info.id, 1)
  assert.equal(info.result.network, 'off')
  query.close()
  await assert.rejects(ApiClient.connect(server.address, 'nope'), { code: 'UNAUTHORIZED' })
})

test('malformed frames, unknown calls and invalid input get typed errors and the connection keeps working', async (t) => {
  const { url } = await serve(t)
  const ws = await open(url, [API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${TOKEN}`])
  assert.ok(ws instanceof WebSocket)
  const ask = async (frame: string | Buffer): Promise<any> => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const next = nextFrame(ws)
    ws.send(frame)
    return next
  }
  assert.deepEqual((await ask('{not json')).error.code, 'BAD_FRAME')
  assert.equal((await ask('{not json')).id, null)
  assert.equal((await ask('[1,2,3]')).error.code, 'BAD_FRAME')
  const noCall = await ask(JSON.stringify({ id: 7, input: {} }))
  assert.deepEqual([noCall.id, noCall.error.code], [7, 'BAD_FRAME'])
  assert.equal((await ask(JSON.stringify({ id: 8, call: 'x', extra: 1 }))).error.code, 'BAD_FRAME')
  assert.equal((await ask(Buffer.from([1, 2, 3]))).error.code, 'BAD_FRAME')
  const unknown = await ask(JSON.stringify({ id: 9, call: 'documents.drop', input: {} }))
  assert.deepEqual([unknown.id, unknown.error.code], [9, 'UNKNOWN_CALL'])
  assert.equal((await ask(JSON.stringify({ id: 10, call: '__proto__' }))).error.code, 'UNKNOWN_CALL')
  assert.equal((await ask(JSON.stringify({ id: 11, call: 'toString' }))).error.code, 'UNKNOWN_CALL')
  const invalid = await ask(JSON.stringify({ id: 12, call: 'documents.list', input: { collection: 'Books', limit: -1 } }))
  assert.equal(invalid.error.code, 'INVALID_INPUT')
  assert.match(invalid.error.message, /limit/)
  assert.equal((await ask(JSON.stringify({ id: 13, call: 'collections.add', input: { sdl: 'type B { t: String }', more: 1 } }))).error.code, 'INVALID_INPUT')
  assert.equal((await ask(JSON.stringify({ id: 14, call: 'documents.get', input: { collection: 'Books', docID: 'bae-x' } }))).error.code, 'UNKNOWN_COLLECTION')
  assert.equal((await ask(JSON.stringify({ id: 15, call: 'replicators.set', input: { target: '/ip4/1.2.3.4', collections: ['B'] } }))).error.code, 'NETWORK_OFF')
  // Still serving.
  const added = await ask(JSON.stringify({ id: 'last', call: 'collections.add', input: { sdl: 'type Books { title: String! }' } }))
  assert.equal(added.id, 'last')
  assert.equal(added.result[0].name, 'Books')
  ws.close()
})

test('a frame over the size limit closes that connection only', async (t) => {
  const { server, url } = await serve(t)
  const ws = await open(url, [API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${TOKEN}`])
  assert.ok(ws instanceof WebSocket)
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
  ws.on('error', () => {})
  ws.send(Buffer.alloc(MAX_FRAME_BYTES + 1, 0x20).toString())
  assert.equal(await closed, 1009)
  const api = await ApiClient.connect(server.address, TOKEN)
  assert.equal((await api.call('collections.list')).length, 0)
  await api.close()
})

test('events reach subscribers only, for the events they asked for', async (t) => {
  const { server } = await serve(t)
  const watcher = await ApiClient.connect(server.address, TOKEN)
  const quiet = await ApiClient.connect(server.address, TOKEN)
  const seen: Array<[string, unknown]> = []
  const unheard: unknown[] = []
  watcher.onEvent((e, d) => { seen.push([e, d]) })
  quiet.onEvent((e) => { unheard.push(e) })
  await watcher.subscribe(['document', 'collection', 'node'])
  await watcher.call('collections.add', { sdl: 'type Notes { text: String }' })
  const { docID } = await watcher.call('documents.create', { collection: 'Notes', doc: { text: 'hi' } })
  await watcher.call('network.pause')
  await eventually(() => seen.some(([e, d]) => e === 'document' && (d as ApiEvents['document']).docID === docID), 'the document event')
  assert.ok(seen.some(([e, d]) => e === 'collection' && (d as ApiEvents['collection']).name === 'Notes'))
  assert.ok(seen.some(([e]) => e === 'node'))
  assert.deepEqual(unheard, [])
  await assert.rejects(watcher.raw('events.subscribe', { events: ['nope'] }), { code: 'INVALID_INPUT' })
  await watcher.close()
  await quiet.close()
})

test('every call of the contract has a handler', async (t) => {
  const { server } = await serve(t)
  const api = await ApiClient.connect(server.address, TOKEN)
  const unsupported: string[] = []
  for (const name of Object.keys(CALLS)) {
    try {
      await api.raw(name, { __probe: true })
    } catch (err) {
      if ((err as { code: string }).code === 'NOT_SUPPORTED') unsupported.push(name)
    }
  }
  await api.close()
  assert.deepEqual(unsupported, [])
})

test('--ui: the same port serves the window files (never outside their folder), and the page origin may connect', async (t) => {
  const { mkdir, writeFile } = await import('node:fs/promises')
  const { join } = await import('node:path')
  const root = await tempDir(t)
  const ui = join(root, 'ui')
  await mkdir(join(ui, 'assets'), { recursive: true })
  await writeFile(join(ui, 'index.html'), '<!doctype html><title>Tandem</title>')
  await writeFile(join(ui, 'assets', 'app.js'), 'console.log(1)')
  await writeFile(join(root, 'secret.txt'), 'not for the browser')
  const { server, url } = await serve(t, ui)
  const base = `http://${server.address}`
  const index = await fetch(`${base}/`)
  assert.equal(index.status, 200)
  assert.match(index.headers.get('content-type') ?? '', /text\/html/)
  assert.match(await index.text(), /Tandem/)
  // No other origin may frame the window: a <meta> CSP cannot say so, only these headers.
  assert.match(index.headers.get('content-security-policy') ?? '', /(^|;)\s*frame-ancestors 'none'\s*(;|$)/)
  assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'none'/)
  assert.equal(index.headers.get('x-frame-options'), 'DENY')
  assert.match((await fetch(`${base}/assets/app.js`)).headers.get('content-type') ?? '', /javascript/)
  assert.equal((await fetch(`${base}/%2e%2e/secret.txt`)).status, 404)
  assert.equal((await fetch(`${base}/assets/..%2f..%2fsecret.txt`)).status, 404)
  const { request } = await import('node:http')
  const rebound = await new Promise<number>((resolve, reject) => {
    request(`${base}/`, { headers: { host: 'evil.example' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', reject).end()
  })
  assert.equal(rebound, 403, 'a page under another host name (DNS rebinding) gets nothing')
  const ws = await open(url, [API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${TOKEN}`], { origin: base })
  assert.ok(ws instanceof WebSocket)
  ws.close()
})
