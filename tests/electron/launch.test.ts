/** `npm start` without the Electron binary: one line saying so, then the headless node with --ui. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'
import { electronBinary } from '../../main/electron/launch.ts'

const LAUNCH = fileURLToPath(new URL('../../main/electron/launch.ts', import.meta.url))

test('electronBinary finds the binary the electron package recorded, and nothing when it was never downloaded', async (t) => {
  const dir = await tempDir(t)
  assert.equal(electronBinary(dir), null)
  writeFileSync(join(dir, 'path.txt'), 'electron')
  assert.equal(electronBinary(dir), null, 'path.txt without the binary')
  mkdirSync(join(dir, 'dist'))
  writeFileSync(join(dir, 'dist', 'electron'), '')
  assert.equal(electronBinary(dir), join(dir, 'dist', 'electron'))
})

test('without the Electron binary, npm start says so in one line and serves the window from the headless node', { timeout: 60_000 }, async (t) => {
  if (electronBinary() !== null) return t.skip('the Electron binary is installed here: npm start opens the app')
  const dataDir = await tempDir(t)
  const child = spawn(process.execPath, [LAUNCH, '--data-dir', dataDir, '--api-addr', '127.0.0.1:0', '--p2paddr', '/ip4/127.0.0.1/tcp/0', '--no-mdns'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  const url = await eventually(() => /UI:\s+(http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(out)?.[1], `the UI URL in:\n${out}`, 45_000)
  assert.match(out.split('\n')[0]!, /Electron binary is not installed/)
  const page = await fetch(url)
  assert.equal(page.status, 200)
  assert.match(await page.text(), /<div id="root">/)
  child.kill('SIGTERM')
  assert.equal(await exited, 0, `stops cleanly:\n${out}`)
})
