/**
 * End to end, as a person would: two real headless nodes (`tandem start --ui`, 127.0.0.1, no mDNS)
 * and their windows in Debian's Chromium. Pair by invite, create and replicate a collection, edit
 * on both while one is offline, watch both windows converge without a reload, see the merge in the
 * history, and check that bad input shows an error and changes nothing. A screenshot of each step's
 * end state goes to $E2E_SCREENS (default test-artifacts/e2e/, ignored by git).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'
import { browserFor, SCREENS } from './browser.ts'
import { startUiNode, type UiNode } from './ui-node.ts'
import { addDoc, editDoc, openCollection, rows, section, table, WAIT } from './window.ts'

const SDL = 'type Books {\n  title: String!\n  author: String\n  year: Int\n}'

test('two windows: pair, replicate, edit offline on both, converge live, history shows the merge, bad input refused', { timeout: 150_000 }, async (t) => {
  const browser = await browserFor(t)
  if (browser === null) return

  const nodes: UiNode[] = []
  t.after(async () => { await Promise.all(nodes.map((n) => n.stop())) })
  const [a, b] = await Promise.all([startUiNode(await tempDir(t), 'Laptop'), startUiNode(await tempDir(t), 'Phone')])
  nodes.push(a!, b!)

  const open = async (node: UiNode): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1180, height: 760 } })
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(node.url).origin })
    const page = await context.newPage()
    page.setDefaultTimeout(WAIT)
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    t.after(() => assert.deepEqual(errors, [], 'no script errors in the page'))
    await page.goto(node.url)
    return page
  }
  const pageA = await open(a!)
  const pageB = await open(b!)
  const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(SCREENS, `${name}.png`) })
  // The token leaves the address bar once read.
  assert.doesNotMatch(pageA.url(), /token=/)

  // 1. On A: Books from SDL, three books through the form.
  await pageA.getByRole('button', { name: 'New collection' }).click()
  await pageA.getByLabel('Schema (SDL)').fill(SDL)
  await pageA.getByRole('button', { name: 'Create collection' }).click()
  await table(pageA, 'Books').waitFor()
  await addDoc(pageA, { title: 'Dune', author: 'F. Herbert', year: '1965' })
  await addDoc(pageA, { title: 'Emma', author: 'Jane Austen', year: '1815' })
  await addDoc(pageA, { title: 'Ubik', author: 'Philip K. Dick', year: '1969' })
  await eventually(async () => (await rows(pageA, 'Books')).length === 3, 'three books listed on A')
  await pageA.getByRole('button', { name: 'Books, 3 documents' }).waitFor()
  await shot(pageA, '1-a-books')

  // 2. Pair: copy A's invite, paste it into B's Join (after checking its QR code reads the same).
  await section(pageA, 'This device')
  await pageA.getByRole('button', { name: 'Create invite' }).click()
  await pageA.getByRole('img', { name: 'Invite QR code' }).waitFor()
  await pageA.getByRole('button', { name: 'Copy invite link' }).click()
  const uri = await pageA.evaluate('navigator.clipboard.readText()') as string
  assert.match(uri, /^tandem:\/\/pair\?/)
  await shot(pageA, '2-a-invite')
  await section(pageB, 'This device')
  // B reads A's QR code from a picture (jsQR), and gets the same link the copy button gave.
  const qrPicture = await pageA.getByRole('img', { name: 'Invite QR code' }).screenshot()
  await pageB.getByLabel(/load a picture of its QR code/).setInputFiles({ name: 'invite.png', mimeType: 'image/png', buffer: qrPicture })
  const joinBox = pageB.getByLabel('Invite link from the other device')
  await eventually(async () => (await joinBox.inputValue()) === uri, 'the QR picture decoded to the invite link', WAIT)
  await joinBox.fill('')
  await joinBox.fill(uri)
  await pageB.getByRole('button', { name: 'Join', exact: true }).click()
  await pageB.getByText('Joined — paired with Laptop').waitFor()
  for (const [page, other] of [[pageA, 'Phone'], [pageB, 'Laptop']] as const) {
    await section(page, 'Devices & peers')
    await page.getByRole('table', { name: 'Group devices' }).getByRole('cell', { name: other, exact: true }).waitFor()
  }
  await pageB.getByRole('table', { name: 'Group devices' }).getByText('Online').waitFor()
  await shot(pageB, '2-b-paired')

  // 3. On A: "Replicate collection to…" B; B shows the three books; progress reaches 100%.
  await openCollection(pageA, 'Books')
  await pageA.getByRole('button', { name: 'Replicate collection to…' }).click()
  await pageA.getByRole('dialog').getByRole('radio', { name: /Phone/ }).check()
  await shot(pageA, '3-a-device-picker')
  await pageA.getByRole('dialog').getByRole('button', { name: 'Replicate' }).click()
  await pageA.getByRole('dialog').waitFor({ state: 'detached' })
  await openCollection(pageB, 'Books')
  await eventually(async () => (await rows(pageB, 'Books')).length === 3, 'three books on B', WAIT)
  assert.deepEqual(await rows(pageB, 'Books'), await rows(pageA, 'Books'))
  await section(pageA, 'Replicators')
  await pageA.getByTestId('rep-percent').filter({ hasText: '100%' }).waitFor()
  await pageA.getByText('Initial sync complete').waitFor()
  await shot(pageA, '3-a-replicator')
  await shot(pageB, '3-b-books')

  // 4. B offline; both edit Dune (different fields), B adds a book; B online; both converge live.
  await section(pageB, 'This device')
  await pageB.getByRole('button', { name: 'Go offline' }).click()
  await pageB.getByTestId('network-state').filter({ hasText: 'Offline' }).waitFor()
  await openCollection(pageA, 'Books')
  await editDoc(pageA, 'Dune', { author: 'Frank Herbert' })
  await table(pageA, 'Books').getByRole('cell', { name: 'Frank Herbert', exact: true }).waitFor()
  await openCollection(pageB, 'Books')
  await editDoc(pageB, 'Dune', { year: '1966' })
  await table(pageB, 'Books').getByRole('cell', { name: '1966', exact: true }).waitFor()
  await addDoc(pageB, { title: 'Solaris', author: 'Stanisław Lem', year: '1961' })
  await table(pageB, 'Books').getByRole('cell', { name: 'Solaris', exact: true }).waitFor()
  await shot(pageB, '4-b-offline-edits')
  await section(pageB, 'This device')
  await pageB.getByRole('button', { name: 'Go online' }).click()
  await openCollection(pageB, 'Books')
  const expected = [
    ['Frank Herbert', 'Dune', '1966'],
    ['Jane Austen', 'Emma', '1815'],
    ['Philip K. Dick', 'Ubik', '1969'],
    ['Stanisław Lem', 'Solaris', '1961'],
  ].sort((x, y) => x.join('|').localeCompare(y.join('|')))
  for (const page of [pageA, pageB]) {
    await eventually(async () => JSON.stringify(await rows(page, 'Books')) === JSON.stringify(expected), 'four books with both edits', WAIT)
  }
  await shot(pageA, '4-a-converged')
  await shot(pageB, '4-b-converged')

  // 5. B's history of Dune: two concurrent branches and their merge.
  await pageB.getByRole('button', { name: 'History of Dune' }).click()
  const graph = pageB.getByRole('img', { name: /Change history/ })
  await graph.waitFor()
  await graph.getByTestId('dag-merge').first().waitFor()
  assert.ok(await graph.getByText('Changed author').count() >= 1, 'A’s branch')
  assert.ok(await graph.getByText('Changed year').count() >= 1, 'B’s branch')
  await shot(pageB, '5-b-history')

  // 6. Bad SDL and a schema-violating edit: an inline error, and nothing changes.
  await section(pageA, 'Collections')
  await pageA.getByRole('button', { name: 'New collection' }).click()
  await pageA.getByLabel('Schema (SDL)').fill('type Broken { title: Strin }')
  await pageA.getByRole('button', { name: 'Create collection' }).click()
  const sdlError = pageA.getByRole('alert')
  await sdlError.waitFor()
  assert.match(await sdlError.innerText(), /Strin/)
  assert.equal(await pageA.getByRole('list').getByRole('button', { name: /^Broken/ }).count(), 0)
  await shot(pageA, '6-a-bad-sdl')
  await pageA.getByRole('button', { name: 'Cancel' }).click()
  await openCollection(pageA, 'Books')
  await editDoc(pageA, 'Emma', { year: 'soon' })
  const editError = pageA.getByRole('dialog').getByRole('alert')
  await editError.waitFor()
  assert.match(await editError.innerText(), /year/i)
  await shot(pageA, '6-a-bad-edit')
  await pageA.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
  assert.deepEqual(await rows(pageA, 'Books'), expected, 'the refused edit changed nothing')

  // The table sorts by a column and filters on a field.
  const titles = async (): Promise<string[]> => (await table(pageA, 'Books').locator('tbody tr td:nth-child(2)').allInnerTexts()).map((x) => x.trim())
  await table(pageA, 'Books').getByRole('button', { name: 'year' }).click()
  await eventually(async () => (await titles()).join() === 'Emma,Solaris,Dune,Ubik', 'sorted by year', WAIT)
  await table(pageA, 'Books').getByRole('button', { name: /^year/ }).click()
  await eventually(async () => (await titles()).join() === 'Ubik,Dune,Solaris,Emma', 'sorted by year, descending', WAIT)
  await pageA.getByLabel('Filter field').selectOption('year')
  await pageA.getByLabel('Filter operator').selectOption('_gt')
  await pageA.getByLabel('Filter value').fill('1962')
  await pageA.getByRole('button', { name: 'Filter', exact: true }).click()
  await eventually(async () => (await titles()).join() === 'Ubik,Dune', 'filtered to year > 1962', WAIT)
  await shot(pageA, '6-a-sorted-filtered')
})
