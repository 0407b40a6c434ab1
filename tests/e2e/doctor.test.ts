/**
 * The Doctor panel in Debian's Chromium: two `tandem start --ui` nodes paired through the CLI; A's
 * window shows the other device on the LAN path with its round-trip time, then — once that node is
 * stopped — offline with its last seen time and a refused dial in words. Screenshots to
 * $E2E_SCREENS (default test-artifacts/e2e/).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { tempDir } from '../helpers/tmp.ts'
import { client } from '../cli/cli.ts'
import { browserFor, SCREENS } from './browser.ts'
import { startUiNode, type UiNode } from './ui-node.ts'
import { WAIT } from './window.ts'


test('the Doctor panel: the LAN path with its rtt, then the device offline with a refused dial', { timeout: 90_000 }, async (t) => {
  const browser = await browserFor(t)
  if (browser === null) return
  const nodes: UiNode[] = []
  t.after(async () => { await Promise.all(nodes.map((n) => n.stop())) })
  const [dirA, dirB] = [await tempDir(t), await tempDir(t)]
  const [a, b] = await Promise.all([startUiNode(dirA, 'Laptop'), startUiNode(dirB, 'Phone')])
  nodes.push(a, b)
  await client(dirB, 'pair', 'join', (await client(dirA, 'pair', 'invite')).uri)

  const page = await (await browser.newContext({ viewport: { width: 1180, height: 900 } })).newPage()
  page.setDefaultTimeout(WAIT)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(a.url)
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Doctor', exact: true }).click()
  await page.getByRole('heading', { name: 'This device on the network' }).waitFor()
  const card = page.getByRole('region', { name: 'Device Phone' })
  await card.getByText(/LAN direct · [\d.]+ ms/).waitFor()
  await card.getByText('Connected', { exact: true }).waitFor()
  await page.screenshot({ path: join(SCREENS, 'doctor-connected.png'), fullPage: true })

  await b.stop()
  await card.getByText(/Device is offline — last seen/).waitFor({ timeout: 30_000 })
  await card.getByText(/Last dial attempts/).click()
  await card.getByRole('table', { name: 'Dial attempts to Phone' }).getByText('refused', { exact: true }).first().waitFor()
  await page.screenshot({ path: join(SCREENS, 'doctor-offline.png'), fullPage: true })
  assert.deepEqual(errors, [], 'no script errors in the page')
})
