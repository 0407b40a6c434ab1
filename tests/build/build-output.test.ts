/**
 * Checks the output of `npm run build` (npm test builds first): the files Electron loads exist, and
 * the security settings survive bundling. Reads the built JavaScript and HTML, not the sources.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import vm from 'node:vm'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const OUT = join(ROOT, 'out')
const MAIN_JS = join(OUT, 'main', 'index.js')
const PRELOAD_JS = join(OUT, 'preload', 'index.cjs')
const RENDERER_HTML = join(OUT, 'renderer', 'index.html')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string; version: string }

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self' ws://127.0.0.1:*; font-src 'self'; base-uri 'none'; form-action 'none'"

function read(file: string): string {
  assert.ok(existsSync(file), `${file} is missing: run \`npm run build\` first`)
  return readFileSync(file, 'utf8')
}

/** `key: value` in bundled code, tolerant of quoting, spacing and minified booleans (`!0`, `!1`). */
function setting(key: string, value: boolean): RegExp {
  const literal = value ? '(?:true|!0)' : '(?:false|!1)'
  return new RegExp(`["']?\\b${key}["']?\\s*:\\s*${literal}(?![\\w$])`)
}

function directives(policy: string): Map<string, string[]> {
  return new Map(policy.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
    const [name = '', ...sources] = d.split(/\s+/)
    return [name, sources.sort()]
  }))
}

test('the build writes the main, preload and renderer outputs Electron loads', () => {
  for (const dir of ['main', 'preload', 'renderer']) {
    assert.ok(existsSync(join(OUT, dir)) && statSync(join(OUT, dir)).isDirectory(), `out/${dir} is missing`)
  }
  read(MAIN_JS)
  read(PRELOAD_JS)
  read(RENDERER_HTML)
  assert.equal(resolve(ROOT, pkg.main), MAIN_JS, 'package.json "main" is the built main entry')
})

test('the built renderer page keeps the strict CSP and loads only its own bundled files', () => {
  const html = read(RENDERER_HTML)
  const metas = [...html.matchAll(/<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/gi)]
  assert.equal(metas.length, 1, 'exactly one CSP meta tag')
  assert.deepEqual(directives(metas[0]![1]!), directives(CSP))
  assert.doesNotMatch(html, /unsafe-inline|unsafe-eval/)

  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)]
  assert.ok(scripts.length > 0, 'the page has a script')
  for (const [, attrs = '', body = ''] of scripts) {
    // script-src 'self' blocks inline code, so every script must be a file of the bundle.
    assert.equal(body.trim(), '', 'no inline script')
    const src = /\bsrc="([^"]+)"/.exec(attrs)?.[1]
    assert.ok(src !== undefined && src.startsWith('./'), `script src is relative to the app: ${src}`)
  }
  for (const [, ref = ''] of html.matchAll(/\b(?:src|href)="([^"]+)"/g)) {
    assert.ok(ref.startsWith('./'), `no remote or absolute reference: ${ref}`)
    assert.ok(existsSync(join(dirname(RENDERER_HTML), ref)), `referenced file exists: ${ref}`)
  }
  assert.doesNotMatch(html, /<style\b|\sstyle="/i, 'style-src \'self\' blocks inline styles')
})

test('the built main process keeps the window locked down', () => {
  const main = read(MAIN_JS)
  for (const [key, value] of [['contextIsolation', true], ['sandbox', true], ['nodeIntegration', false], ['webSecurity', true]] as const) {
    assert.match(main, setting(key, value), `${key}: ${value}`)
    assert.doesNotMatch(main, setting(key, !value), `no ${key}: ${!value} anywhere`)
  }
  assert.doesNotMatch(main, setting('nodeIntegrationInSubFrames', true))
  assert.doesNotMatch(main, setting('nodeIntegrationInWorker', true))
  assert.doesNotMatch(main, setting('allowRunningInsecureContent', true))
  assert.doesNotMatch(main, setting('webviewTag', true))

  assert.match(main, /\.enableSandbox\(\)/, 'app.enableSandbox(): every renderer sandboxed')
  assert.match(main, /\.setPermissionRequestHandler\(/)
  assert.match(main, /\.setWindowOpenHandler\(/)
  assert.match(main, /action\s*:\s*["']deny["']/)
  assert.match(main, /["']will-navigate["']/)
  assert.match(main, /\.requestSingleInstanceLock\(/)
  // The renderer comes from the custom protocol, never file://.
  assert.match(main, /\.registerSchemesAsPrivileged\(/)
  assert.match(main, /protocol\.handle\(/)
  assert.doesNotMatch(main, /\.loadFile\(|["']file:\/\//)
})

test('the built main process points at the preload file the build wrote', () => {
  const main = read(MAIN_JS)
  const refs = [...main.matchAll(/["'`]\.\.\/preload\/([\w.-]+)["'`]/g)].map((m) => m[1])
  assert.deepEqual(refs, ['index.cjs'])
  assert.ok(existsSync(join(OUT, 'preload', refs[0]!)))
})

/** Every object and function reachable from `value` through own properties (prototypes not followed). */
function reachable(value: unknown, seen = new Set<unknown>()): Set<unknown> {
  if ((typeof value === 'object' && value !== null) || typeof value === 'function') {
    if (seen.has(value)) return seen
    seen.add(value)
    for (const key of Reflect.ownKeys(value)) reachable(Reflect.get(value, key), seen)
  }
  return seen
}

test('the built preload is CommonJS, needs only electron, and exposes window.tandem = {call, subscribe} without ipcRenderer', () => {
  const code = read(PRELOAD_JS)
  // A sandboxed preload is not an ES module: this throws on `import`/`export` syntax.
  const run = vm.compileFunction(code, ['require', 'module', 'exports'], { filename: PRELOAD_JS })

  // A stand-in for the sandbox's `require`: it offers ipcRenderer (a later preload will use it
  // internally) so the test can prove it is never handed to the page.
  const ipcRenderer = { send() {}, invoke() {}, on() {} }
  const required: string[] = []
  const exposed = new Map<string, unknown>()
  const contextBridge = { exposeInMainWorld: (key: string, api: unknown) => { exposed.set(key, api) } }
  const require = (id: string): unknown => {
    required.push(id)
    if (id === 'electron') return { contextBridge, ipcRenderer }
    throw new Error(`a sandboxed preload cannot require ${id}`)
  }
  const module = { exports: {} }
  run(require, module, module.exports)

  assert.deepEqual(required, ['electron'])
  assert.deepEqual([...exposed.keys()], ['tandem'])
  // Exactly the contract's two functions (shared/api/ipc.ts PreloadApi), nothing else.
  const tandem = exposed.get('tandem') as Record<string, unknown>
  assert.deepEqual(Object.keys(tandem).sort(), ['call', 'subscribe'])
  for (const fn of Object.values(tandem)) assert.equal(typeof fn, 'function')
  const leaked = reachable([...exposed.values()])
  for (const forbidden of [ipcRenderer, ...Object.values(ipcRenderer)]) assert.ok(!leaked.has(forbidden), 'ipcRenderer is exposed')
})

test('the built preload carries calls on tandem:call and hands events to subscribers without the IPC event object', async () => {
  const run = vm.compileFunction(read(PRELOAD_JS), ['require', 'module', 'exports'], { filename: PRELOAD_JS })
  const invoked: unknown[][] = []
  let onEvent: ((...args: unknown[]) => void) | null = null
  const ipcRenderer = {
    invoke: (...args: unknown[]) => { invoked.push(args); return Promise.resolve({ ok: true, result: 'pong' }) },
    on: (channel: string, l: (...args: unknown[]) => void) => { if (channel === 'tandem:event') onEvent = l },
  }
  type Exposed = { call(n: string, i?: unknown): Promise<unknown>; subscribe(l: (...a: unknown[]) => void): () => void }
  const exposed: Exposed[] = []
  const contextBridge = { exposeInMainWorld: (_key: string, value: Exposed) => { exposed.push(value) } }
  const module = { exports: {} }
  run((id: string) => (id === 'electron' ? { contextBridge, ipcRenderer } : null), module, module.exports)
  const tandem = exposed[0]
  const deliver = onEvent as ((...args: unknown[]) => void) | null
  assert.ok(tandem !== undefined && deliver !== null)
  assert.deepEqual(await tandem.call('node.info', {}), { ok: true, result: 'pong' })
  assert.deepEqual(invoked, [['tandem:call', 'node.info', {}]])

  const got: unknown[][] = []
  const off = tandem.subscribe((...args: unknown[]) => got.push(args))
  const ipcEvent = { sender: ipcRenderer }
  deliver(ipcEvent, { event: 'node', data: { paused: true } })
  off()
  deliver(ipcEvent, { event: 'node', data: { paused: false } })
  assert.deepEqual(got, [['node', { paused: true }]], 'one event, as (name, data) only; none after unsubscribing')
})
