/**
 * A long store upgrade shows in the window (issue 17), in Debian's Chromium: `tandem start --ui` on
 * a copy of the format-4 fixture, its upgrade step slowed by the test-only TANDEM_TEST_SLOW_UPGRADE_MS.
 * The window is served (its URL printed) before the node has started; it shows "Upgrading your data
 * — step 1 of 2: …, N %" with a progress bar that moves, then the app with the fixture's documents.
 * Screenshots to $E2E_SCREENS.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cp, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'
import { browserFor, SCREENS } from './browser.ts'
import { startUiNode } from './ui-node.ts'
import { openCollection, rows, WAIT } from './window.ts'
import { UPGRADES } from '../../main/db/upgrades/index.ts'

const FIXTURE = fileURLToPath(new URL('../fixtures/store-v4/', import.meta.url))
const expected = JSON.parse(await readFile(fileURLToPath(new URL('../fixtures/store-v4.json', import.meta.url)), 'utf8')) as {
  documents: Record<string, Array<{ deleted: boolean; fields: Record<string, unknown> }>>
}
/** How long the slowed step takes before the real one runs. */
const SLOW_MS = 8_000

test('a long upgrade shows in the window with its step and percentage, then the app with the documents', { timeout: 120_000 }, async (t) => {
  const browser = await browserFor(t)
  if (browser === null) return
  const dataDir = join(await tempDir(t), 'data')
  await cp(FIXTURE, dataDir, { recursive: true })
  const node = await startUiNode(dataDir, 'Desk', 30_000, [], { env: { TANDEM_TEST_SLOW_UPGRADE_MS: String(SLOW_MS) }, early: true })
  t.after(() => node.stop())
  assert.doesNotMatch(node.output(), /Tandem node ready/, 'the window is served before the node is up')

  const page = await (await browser.newContext({ viewport: { width: 1180, height: 800 } })).newPage()
  page.setDefaultTimeout(WAIT)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  t.after(() => assert.deepEqual(errors, [], 'no script errors in the page'))
  await page.goto(node.url)

  const line = page.getByText(/^Upgrading your data — step \d+ of \d+: .+, \d+ %$/)
  await line.waitFor()
  const percent = async (): Promise<number> => Number(/(\d+) %$/.exec(await line.innerText())![1])
  const first = await percent()
  const bar = page.getByRole('progressbar', { name: 'Upgrade progress' })
  assert.ok(await bar.isVisible(), 'a progress bar')
  await page.screenshot({ path: join(SCREENS, 'upgrade-progress.png') })
  const later = await eventually(async () => { const p = await percent().catch(() => -1); return p > first ? p : undefined }, 'the percentage goes up', WAIT)
  assert.ok(later > first && later <= 100)
  assert.ok(Number(await bar.getAttribute('value')) > 0, 'the bar follows')
  assert.doesNotMatch(node.output(), /Tandem node ready/, 'all this while the node is still upgrading')

  // Then the app, with the fixture's documents, on the same page (no reload).
  await page.getByRole('navigation', { name: 'Sections' }).waitFor({ timeout: UPGRADES.length * SLOW_MS + WAIT })
  // The page hears "ready" by its WebSocket; the line reaches us through the node's stdout pipe, maybe a moment later.
  await eventually(() => /Tandem node ready/.test(node.output()) || undefined, 'the node says it is ready', WAIT)
  for (const [collection, docs] of Object.entries(expected.documents)) {
    const live = docs.filter((d) => !d.deleted).length
    await openCollection(page, collection)
    await eventually(async () => (await rows(page, collection)).length === live || undefined, `${live} documents in ${collection}`, WAIT)
  }
  assert.equal(await page.getByText(/Upgrading your data/).count(), 0)
  await page.screenshot({ path: join(SCREENS, 'upgrade-done.png') })
})
