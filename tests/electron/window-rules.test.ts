/** The window's rules: who may call the IPC API, when it may have the camera, and its CSP. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { senderAllowed } from '../../main/electron/ipc-sender.ts'
import { cameraAllowed } from '../../main/electron/app-url.ts'

const page = { url: 'app://tandem/index.html#/collections' }

test('IPC calls are taken only from the main frame of our own window showing our page', () => {
  assert.equal(senderAllowed({ frame: page, mainFrame: page, ownWindow: true }, null), true)
  assert.equal(senderAllowed({ frame: { url: page.url }, mainFrame: page, ownWindow: true }, null), false, 'an iframe, even at our URL')
  assert.equal(senderAllowed({ frame: page, mainFrame: page, ownWindow: false }, null), false, 'web contents that are not our window')
  assert.equal(senderAllowed({ frame: null, mainFrame: page, ownWindow: true }, null), false, 'a frame already gone')
  const foreign = { url: 'https://example.com/' }
  assert.equal(senderAllowed({ frame: foreign, mainFrame: foreign, ownWindow: true }, null), false, 'our window navigated elsewhere')
  const dev = { url: 'http://127.0.0.1:5173/' }
  assert.equal(senderAllowed({ frame: dev, mainFrame: dev, ownWindow: true }, null), false)
  assert.equal(senderAllowed({ frame: dev, mainFrame: dev, ownWindow: true }, 'http://127.0.0.1:5173'), true, 'the dev server in development only')
})

test('the camera only for video, only on our page, only while it shows This device', () => {
  assert.equal(cameraAllowed('app://tandem/index.html#/device', ['video'], null), true)
  assert.equal(cameraAllowed('app://tandem/index.html#/collections', ['video'], null), false)
  assert.equal(cameraAllowed('app://tandem/index.html#/device', ['audio'], null), false)
  assert.equal(cameraAllowed('app://tandem/index.html#/device', ['video', 'audio'], null), false)
  assert.equal(cameraAllowed('app://tandem/index.html#/device', [], null), false)
  assert.equal(cameraAllowed('https://evil.example/#/device', ['video'], null), false)
  assert.equal(cameraAllowed('app://other/index.html#/device', ['video'], null), false)
})

test("the CSP the app:// handler sends is the page's, without the WebSocket and with no framing", async () => {
  const { readFileSync } = await import('node:fs')
  const { APP_CSP } = await import('../../main/electron/app-url.ts')
  const { PAGE_CSP } = await import('../../shared/csp.ts')
  const html = readFileSync(new URL('../../renderer/index.html', import.meta.url), 'utf8')
  const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html)?.[1]
  const policy = (p: string): Map<string, string> =>
    new Map(p.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0] !== '').map(([name = '', ...src]) => [name, src.sort().join(' ')]))
  assert.deepEqual(policy(PAGE_CSP), policy(meta ?? ''), 'the page carries shared/csp.ts PAGE_CSP')
  const header = policy(APP_CSP)
  assert.equal(header.get('connect-src'), "'self'", "Electron's window talks over IPC only: no ws:")
  assert.equal(header.get('frame-ancestors'), "'none'")
  for (const [name, sources] of policy(PAGE_CSP)) if (name !== 'connect-src') assert.equal(header.get(name), sources, name)
})
