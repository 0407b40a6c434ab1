/** `tandem start --ui` prints a loopback URL carrying the token and serves the built window there. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers/tmp.ts'
import { apiFile, startDaemon } from './cli.ts'

const BUILT = existsSync(fileURLToPath(new URL('../../out/renderer/index.html', import.meta.url)))

test('tandem start --ui', { skip: BUILT ? false : 'the renderer is not built (npm run build; npm test builds it first)', timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t)
  const d = await startDaemon(t, dir, ['--ui'], { p2p: false })
  const m = /UI: +(http:\/\/127\.0\.0\.1:(\d+)\/)#token=(\S+)/.exec(d.out())
  assert.ok(m !== null, d.out())
  const { address, token } = apiFile(dir)
  assert.equal(m[3], token)
  assert.equal(`127.0.0.1:${m[2]}`, address)
  const page = await fetch(m[1]!)
  assert.equal(page.status, 200)
  assert.match(await page.text(), /<div id="root">/)
  assert.equal(await d.stop(), 0)
})
