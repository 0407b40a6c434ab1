/**
 * The mass-delete guard's notice in Debian's Chromium: a `tandem start --ui` node whose data
 * directory holds two batches of deletions by another device. The window names each ("… deleted
 * 30 of 40 Books"), lists the documents as alive with a "deletion held" mark; Restore them brings
 * all 40 Books back, Keep deletions leaves 5 Notes and 25 in the trash. Screenshot to $E2E_SCREENS.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { tempDir } from '../helpers/tmp.ts'
import { heldDataDir } from '../helpers/held-data.ts'
import { client } from '../cli/cli.ts'
import { browserFor, SCREENS } from './browser.ts'
import { startUiNode, type UiNode } from './ui-node.ts'
import { openCollection, table, WAIT } from './window.ts'


test('held deletions: the window asks, Restore them brings the Books back, Keep deletions lets the Notes go', { timeout: 90_000 }, async (t) => {
  const browser = await browserFor(t)
  if (browser === null) return
  const dir = join(await tempDir(t), 'a')
  await heldDataDir(t, dir)
  const node: UiNode = await startUiNode(dir, 'Laptop')
  t.after(() => node.stop())

  const page = await (await browser.newContext({ viewport: { width: 1180, height: 800 } })).newPage()
  page.setDefaultTimeout(WAIT)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(node.url)
  const notice = page.getByRole('region', { name: 'Held deletions' })
  const books = notice.getByRole('group', { name: /^device \w+ deleted 30 of 40 Books$/ })
  const notes = notice.getByRole('group', { name: /^device \w+ deleted 25 of 30 Notes$/ })
  await books.waitFor()
  await notes.waitFor()
  await openCollection(page, 'Books')
  await page.getByRole('button', { name: 'Books, 40 documents' }).waitFor()
  await table(page, 'Books').getByText('deletion held').first().waitFor()
  await page.screenshot({ path: join(SCREENS, 'held-notice.png'), fullPage: true })

  await books.getByRole('button', { name: 'Restore them' }).click()
  await books.waitFor({ state: 'detached' })
  await table(page, 'Books').getByText('deletion held').first().waitFor({ state: 'detached' })
  await page.getByRole('button', { name: 'Books, 40 documents' }).waitFor()

  await notes.getByRole('button', { name: 'Keep deletions' }).click()
  await notice.waitFor({ state: 'detached' })
  await page.getByRole('button', { name: 'Notes, 5 documents' }).waitFor()
  assert.equal((await client(dir, 'doc', 'trash', 'Notes')).total, 25)
  assert.equal((await client(dir, 'doc', 'trash', 'Books')).total, 0)
  assert.deepEqual(errors, [], 'no script errors in the page')
})
