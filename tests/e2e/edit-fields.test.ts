/**
 * "Edit fields" in Debian's Chromium (issue 17): two paired `tandem start --ui` nodes on 127.0.0.1.
 * On A's window: a refused change shows why inline and changes nothing; adding `rating` makes a new
 * version, listed with its device and change; filling it in on a document shows on B's window, whose
 * Books table grows the column by itself. Screenshots to $E2E_SCREENS.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { eventually } from '../helpers/nodes.ts'
import { client } from '../cli/cli.ts'
import { browserFor, openPage, SCREENS } from './browser.ts'
import { twoUiNodes, type UiNode } from './ui-node.ts'
import { editDoc, openCollection, rows, table, WAIT } from './window.ts'

const SDL = 'type Books { title: String! author: String }'

test('Edit fields: a refusal inline, then add a field, fill it in, see it on the other device', { timeout: 150_000 }, async (t) => {
  const browser = await browserFor(t)
  if (browser === null) return
  const { dirA, dirB, a, b, pair } = await twoUiNodes(t, SDL)
  await client(dirA, 'doc', 'create', 'Books', '[{"title": "Dune", "author": "Frank Herbert"}, {"title": "Emma", "author": "Jane Austen"}]')
  await pair()

  const open = (node: UiNode): Promise<Page> => openPage(t, browser, node.url)
  const [pageA, pageB] = [await open(a), await open(b)]
  const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(SCREENS, `${name}.png`) })
  await openCollection(pageB, 'Books')
  await eventually(async () => (await rows(pageB, 'Books')).length === 2, 'both books on B', WAIT)

  // A refused change: the reason inline, nothing changed.
  await openCollection(pageA, 'Books')
  await pageA.getByRole('button', { name: 'Edit fields' }).click()
  const dialog = pageA.getByRole('dialog', { name: 'Edit fields of Books' })
  const sdl = dialog.getByLabel('Schema (SDL)')
  assert.match(await sdl.inputValue(), /title: String!/)
  await sdl.fill('type Books {\n  title: String!\n  author: Int\n}')
  await dialog.getByRole('button', { name: 'Save new version' }).click()
  await dialog.getByText(/changing a field's type is not supported/).waitFor()
  await shot(pageA, 'edit-fields-1-refused')
  assert.equal((await client(dirA, 'collection', 'describe', 'Books')).versions.length, 1)

  // Add rating: a new version, listed with this device and what changed.
  await sdl.fill('type Books {\n  title: String!\n  author: String\n  rating: Int\n}')
  await dialog.getByRole('button', { name: 'Save new version' }).click()
  await dialog.waitFor({ state: 'detached' })
  await table(pageA, 'Books').getByRole('columnheader', { name: /rating/ }).waitFor()
  await pageA.getByRole('button', { name: 'Edit fields' }).click()
  await dialog.getByRole('list', { name: 'Versions' }).getByText(/Laptop \(this device\) · added rating: Int/).waitFor()
  await shot(pageA, 'edit-fields-2-versions')
  await dialog.getByRole('button', { name: 'Cancel' }).click()

  // Fill it in on a document; B's window shows the new column and the value.
  await editDoc(pageA, 'Dune', { rating: '5' })
  await table(pageA, 'Books').getByRole('cell', { name: '5', exact: true }).waitFor()
  await table(pageB, 'Books').getByRole('columnheader', { name: /rating/ }).waitFor()
  await table(pageB, 'Books').getByRole('cell', { name: '5', exact: true }).waitFor()
  await shot(pageA, 'edit-fields-3-a-filled')
  await shot(pageB, 'edit-fields-4-b-sees-it')
  const onB = await client(dirB, 'collection', 'describe', 'Books')
  assert.equal(onB.versions.length, 2)
  assert.deepEqual(onB.versions[1].changes, ['added rating: Int'])
})
