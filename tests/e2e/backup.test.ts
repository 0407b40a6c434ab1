/**
 * Backup in the window, in Debian's Chromium, with two `tandem start --ui` nodes that are not
 * paired: on Laptop, This device → Export… downloads a car; on Phone, Import… with that file asks
 * to trust Laptop (not a device of its group), then shows the summary, and the Books are there.
 * A collection's own Backup… exports json. Screenshot to $E2E_SCREENS.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'
import { client } from '../cli/cli.ts'
import { browserFor, SCREENS } from './browser.ts'
import { startUiNode } from './ui-node.ts'
import { openCollection, rows, section, WAIT } from './window.ts'


test('window backup: Export… downloads a car on one node; Import… of it on another (trusting its author) shows the documents and the summary', { timeout: 120_000 }, async (t) => {
  const browser = await browserFor(t)
  if (browser === null) return
  const root = await tempDir(t)
  const laptop = await startUiNode(join(root, 'laptop'), 'Laptop')
  t.after(() => laptop.stop())
  const phone = await startUiNode(join(root, 'phone'), 'Phone')
  t.after(() => phone.stop())
  await client(join(root, 'laptop'), 'collection', 'add', 'type Books { title: String! pages: Int }')
  await client(join(root, 'laptop'), 'doc', 'create', 'Books', '[{"title": "Dune", "pages": 412}, {"title": "Emma", "pages": 474}, {"title": "Ulysses"}]')

  const ctx = await browser.newContext({ viewport: { width: 1180, height: 900 }, acceptDownloads: true })
  const errors: string[] = []
  const a = await ctx.newPage()
  a.setDefaultTimeout(WAIT)
  a.on('pageerror', (e) => errors.push(e.message))
  await a.goto(laptop.url)
  await section(a, 'This device')
  const card = a.getByRole('region', { name: 'Backup' })
  const [download] = await Promise.all([a.waitForEvent('download'), card.getByRole('button', { name: 'Export…' }).click()])
  assert.match(download.suggestedFilename(), /^tandem-all-.*\.car$/)
  const file = join(root, download.suggestedFilename())
  await download.saveAs(file)
  await card.getByText('Exported 3 documents to').waitFor()
  assert.ok(readFileSync(file).length > 500)

  // A collection's own Backup…: json of Books.
  await openCollection(a, 'Books')
  await a.getByRole('button', { name: 'Backup…' }).click()
  const books = a.getByLabel('Backup of Books')
  await books.getByRole('combobox').selectOption('json')
  const [jsonDownload] = await Promise.all([a.waitForEvent('download'), books.getByRole('button', { name: 'Export…' }).click()])
  const json = JSON.parse(readFileSync(await jsonDownload.path(), 'utf8'))
  assert.deepEqual(json.Books.map((d: { title: string }) => d.title).sort(), ['Dune', 'Emma', 'Ulysses'])

  const b = await ctx.newPage()
  b.setDefaultTimeout(WAIT)
  b.on('pageerror', (e) => errors.push(e.message))
  await b.goto(phone.url)
  await section(b, 'This device')
  const phoneCard = b.getByRole('region', { name: 'Backup' })
  await phoneCard.getByLabel('Backup file to import').setInputFiles(file)
  const ask = phoneCard.getByRole('alertdialog', { name: "Trust the backup's authors?" })
  await ask.getByText(/not in this group: Laptop \(12D3Koo/).waitFor()
  await ask.getByRole('button', { name: 'Trust them and import' }).click()
  await phoneCard.getByText('Imported 3 documents into Books; 0 already here.').waitFor()
  await b.screenshot({ path: join(SCREENS, 'backup-import.png'), fullPage: true })
  await openCollection(b, 'Books')
  await b.getByRole('button', { name: 'Books, 3 documents' }).waitFor()
  const titles = async () => (await rows(b, 'Books')).map((r) => r.filter((c) => /^[A-Z]/.test(c))[0]).sort()
  // The count in the sidebar comes before the table's rows: wait for the rows, then compare.
  await eventually(async () => (await titles()).length === 3, 'three books listed on Phone', WAIT)
  assert.deepEqual(await titles(), ['Dune', 'Emma', 'Ulysses'])
  assert.deepEqual(errors, [], 'no script errors in the pages')
})
