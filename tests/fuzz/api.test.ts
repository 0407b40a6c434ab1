/**
 * Every API input through the loopback WebSocket: connections without or with a wrong token, random
 * JSON frames, binary and non-JSON frames, unknown calls, every call with random inputs, wrong types
 * and huge strings, and a frame over the size limit. Each call gets an answer with its id and a
 * stable error code (never INTERNAL: bad input is not an internal error), a failed call writes
 * nothing, the server never crashes, and the node still answers a real call afterwards.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import WebSocket from 'ws'
import { createApi } from '../../main/api/implementation.ts'
import { startApiServer } from '../../main/api/ws-server.ts'
import { newToken } from '../../main/api/auth.ts'
import { API_PATH, API_PROTOCOL, CALLS, MAX_FRAME_BYTES, TOKEN_PROTOCOL_PREFIX } from '../../shared/api/index.ts'
import { ERROR_CODES } from '../../shared/errors.ts'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import { storeOf } from '../../main/db/database.ts'
import { startNode } from '../helpers/nodes.ts'
import { fuzz } from './fuzz-seed.ts'
import { heapMiB } from './wire-client.ts'

const SDL = 'type Notes { title: String! body: String pages: Int }'
const CODES: ReadonlySet<string> = new Set(ERROR_CODES)

interface Conn { ws: WebSocket; ask: (frame: string | Buffer) => Promise<Record<string, unknown>>; replies: Array<Record<string, unknown>> }

/** Connects; resolves with the HTTP status when the server refuses the upgrade. */
function connect(url: string, protocols: string[], headers: Record<string, string> = {}): Promise<Conn | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers, maxPayload: MAX_FRAME_BYTES * 2, handshakeTimeout: 10_000 })
    ws.once('unexpected-response', (_req, res) => { ws.terminate(); resolve(res.statusCode ?? 0) })
    ws.once('error', reject)
    ws.once('open', () => {
      const replies: Array<Record<string, unknown>> = []
      const waiting: Array<(r: Record<string, unknown>) => void> = []
      ws.on('message', (data) => {
        const r = JSON.parse(data.toString()) as Record<string, unknown>
        if ('event' in r) return
        replies.push(r)
        waiting.shift()?.(r)
      })
      const ask = (frame: string | Buffer): Promise<Record<string, unknown>> => new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no answer to ${String(frame).slice(0, 120)}`)), 10_000)
        waiting.push((r) => { clearTimeout(timer); res(r) })
        ws.send(frame)
      })
      resolve({ ws, ask, replies })
    })
  })
}

async function written(node: TandemNode): Promise<string> {
  const s = storeOf(node.db)
  return JSON.stringify({
    blocks: (await s.blocks.keys().all()).length, docs: await s.docs.keys().all(), schemas: await s.schemas.keys().all(),
    devices: await s.devices.iterator().all(), replicators: await s.replicators.iterator().all(), pending: await s.pending.keys().all(),
  })
}

test('hostile API input over the WebSocket gets typed errors, writes nothing and crashes nothing', async (t) => {
  const node = await startNode(t)
  await node.db.addCollections(SDL)
  const docID = await node.db.createDocument('Notes', { title: 'kept' })
  const token = newToken()
  const server = await startApiServer({ node, api: createApi(node), host: '127.0.0.1', port: 0, token })
  t.after(() => server.close())
  const url = `ws://${server.address}${API_PATH}`
  const heapBefore = heapMiB()
  let total = 0

  // No token, a wrong token, the token in the wrong place, a foreign origin or host: refused.
  for (const [protocols, headers, status] of [
    [[API_PROTOCOL], {}, 401],
    [[API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${token}x`], {}, 401],
    [[API_PROTOCOL, token], {}, 401],
    [[API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${token}`], { origin: 'http://evil.example' }, 403],
    [[API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${token}`], { host: 'evil.example' }, 403],
  ] as Array<[string[], Record<string, string>, number]>) {
    assert.equal(await connect(url, protocols, headers), status)
  }
  total += await fuzz(t, 'api: random tokens', fc.string({ minLength: 1, maxLength: 200 }).filter((s) => s !== token && /^[\x21-\x7e]+$/.test(s) && !s.includes(',')), 30, async (guess) => {
    assert.equal(await connect(`${url}?token=${encodeURIComponent(guess)}`, [API_PROTOCOL]), 401)
  })

  const c = await connect(url, [API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${token}`])
  assert.ok(typeof c !== 'number', 'the token opens the API')
  let before = await written(node)
  const codes: Record<string, number> = {}
  let succeeded = 0
  const check = async (reply: Record<string, unknown>, id: unknown): Promise<void> => {
    assert.deepEqual(reply.id, id, `the answer carries the call's id: ${JSON.stringify(reply).slice(0, 200)}`)
    if ('error' in reply) {
      const e = reply.error as { code: string; message: string }
      codes[e.code] = (codes[e.code] ?? 0) + 1
      assert.ok(CODES.has(e.code), `stable code: ${e.code}`)
      assert.notEqual(e.code, 'INTERNAL', `bad input is not an internal error: ${e.message}`)
      assert.ok(typeof e.message === 'string' && e.message.length > 0)
      assert.equal(await written(node), before, 'a failed call wrote nothing')
    } else {
      succeeded++ // a random input that happens to be valid: what it wrote is the new baseline
      before = await written(node)
    }
  }

  // Frames that are not calls.
  total += await fuzz(t, 'api: random JSON frames', fc.jsonValue(), 200, async (v) => {
    const reply = await c.ask(JSON.stringify(v))
    const hasId = typeof v === 'object' && v !== null && !Array.isArray(v) && 'id' in v && (typeof v.id === 'string' || typeof v.id === 'number')
    if ('error' in reply) await check(reply, hasId ? (v as { id: unknown }).id : reply.id)
    else assert.fail(`a random frame succeeded: ${JSON.stringify(v).slice(0, 200)}`)
  })
  total += await fuzz(t, 'api: non-JSON and binary frames', fc.oneof(fc.string({ maxLength: 300 }).filter((s) => { try { JSON.parse(s); return false } catch { return true } }), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b))), 60, async (f) => {
    const reply = await c.ask(f)
    await check(reply, null)
    assert.equal((reply.error as { code: string }).code, 'BAD_FRAME')
  })
  total += await fuzz(t, 'api: unknown calls', fc.string({ minLength: 1, maxLength: 64 }).filter((n) => !Object.hasOwn(CALLS, n) && !n.startsWith('events.')), 60, async (name) => {
    const reply = await c.ask(JSON.stringify({ id: 1, call: name, input: {} }))
    await check(reply, 1)
    assert.equal((reply.error as { code: string }).code, 'UNKNOWN_CALL')
  })

  // Every call, with random input: random JSON, wrong types under the right keys, huge strings.
  const huge = fc.constantFrom('x'.repeat(300_000), '💥'.repeat(100_000), `${'a'.repeat(70_000)}\u0000`)
  const anyValue = fc.oneof({ weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 1, arbitrary: huge })
  const keys = ['collection', 'doc', 'docs', 'docID', 'patch', 'sdl', 'filter', 'sort', 'limit', 'offset', 'deleted', 'name', 'peerID', 'target',
    'collections', 'documents', 'uri', 'ttlMinutes', 'id', 'events']
  const shaped = fc.dictionary(fc.constantFrom(...keys), anyValue, { maxKeys: 4 })
  const withRealNames = fc.record({ collection: fc.constantFrom('Notes', 'Nope', ''), docID: fc.constantFrom(docID, 'bae-x', ''), doc: fc.dictionary(fc.string({ maxLength: 8 }), anyValue, { maxKeys: 3 }), patch: fc.dictionary(fc.constantFrom('title', 'pages', 'body', 'nope', '_deleted'), fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.array(fc.integer())), { maxKeys: 3 }) }, { requiredKeys: [] })
  // Going offline or online is a valid call with no input; it changes no stored data.
  const names = Object.keys(CALLS).filter((n) => n !== 'network.pause' && n !== 'network.resume')
  let nextId = 100
  total += await fuzz(t, 'api: every call with random input', fc.tuple(fc.constantFrom(...names), fc.oneof(anyValue, shaped, withRealNames)), 600, async ([call, input]) => {
    const id = nextId++
    await check(await c.ask(JSON.stringify({ id, call, input })), id)
  })
  // Wrong types for the frame itself.
  for (const f of [{ id: {}, call: 'node.info' }, { id: 1, call: 5 }, { id: 1, call: 'node.info', input: {}, extra: 1 }, { id: 'x'.repeat(100), call: 'node.info' }, []]) {
    const reply = await c.ask(JSON.stringify(f))
    assert.ok('error' in reply)
    assert.ok(CODES.has((reply.error as { code: string }).code))
  }
  t.diagnostic(`api: ${total} cases, ${succeeded} valid calls among them; error codes ${JSON.stringify(codes)}`)

  // A frame over the limit closes that connection only.
  const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)))
  c.ws.send('x'.repeat(MAX_FRAME_BYTES + 1))
  assert.equal(await closed, 1009)

  // The node still answers, and wrote nothing of all that.
  const again = await connect(url, [API_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${token}`])
  assert.ok(typeof again !== 'number')
  const reply = await again.ask(JSON.stringify({ id: 'ok', call: 'documents.get', input: { collection: 'Notes', docID } }))
  assert.equal((reply.result as { fields: { title: string } }).fields.title, 'kept')
  again.ws.close()
  assert.equal(await written(node), before)
  const heapAfter = heapMiB()
  t.diagnostic(`heap ${heapBefore.toFixed(1)} → ${heapAfter.toFixed(1)} MiB`)
  assert.ok(heapAfter - heapBefore < 64)
})
