/**
 * Conflicting edits in Debian's Chromium (issue 18): two paired `tandem start --ui` nodes on
 * 127.0.0.1, both offline (p2p pause), each edits the same note's body; back online, both windows
 * show the conflict badge on the row and in the status bar; "Keep this" on one clears it on both.
 * The history marks the concurrent writes; a counter's + adds up. Screenshots to $E2E_SCREENS.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { eventually } from '../helpers/nodes.ts'
import { client } from '../cli/cli.ts'
import { browserFor, openPage, SCREENS } from './browser.ts'
import { twoUiNodes, type UiNode } from './ui-node.ts'
import { openCollection, rows, table, WAIT } from './window.ts'

const SDL = 'type Notes { title: String! body: String likes: Int @crdt(type: pncounter) }'

test('a conflict shows on both windows; Keep this on one clears it on both', { timeout: 150_000 }, async (t) => {
  const browser = await browserFor(t)
  if (browser === null) return
  const { dirA, dirB, a, b, pair } = await twoUiNodes(t, SDL)
  const { docID } = await client(dirA, 'doc', 'create', 'Notes', '{"title": "Groceries", "body": "milk", "likes": 0}')
  await pair()

  const open = (node: UiNode): Promise<Page> => openPage(t, browser, node.url)
  const [pageA, pageB] = [await open(a), await open(b)]
  const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(SCREENS, `${name}.png`) })
  await openCollection(pageA, 'Notes')
  await openCollection(pageB, 'Notes')
  await eventually(async () => (await rows(pageB, 'Notes')).length === 1, 'the note on B', WAIT)

  // Apart, both edit the body.
  await client(dirA, 'p2p', 'pause')
  await client(dirB, 'p2p', 'pause')
  await client(dirA, 'doc', 'update', 'Notes', docID, '{"body": "milk, eggs"}')
  await client(dirB, 'doc', 'update', 'Notes', docID, '{"body": "milk, bread"}')
  await client(dirA, 'p2p', 'resume')
  await client(dirB, 'p2p', 'resume')
  for (const page of [pageA, pageB]) {
    await table(page, 'Notes').getByRole('button', { name: 'Conflicting edits in Groceries' }).waitFor()
    await page.getByTestId('conflicts').getByText('1 note has conflicting edits').waitFor()
  }
  await shot(pageA, 'conflicts-1-a-badge')
  await shot(pageB, 'conflicts-2-b-badge')
  // B's history marks the two concurrent writes.
  await table(pageB, 'Notes').getByRole('button', { name: 'History of Groceries' }).click()
  await eventually(async () => (await pageB.getByText(/concurrent write \(conflict on body\)/).count()) === 2, 'two concurrent writes marked', WAIT)
  await shot(pageB, 'conflicts-2b-history')
  await pageB.getByRole('button', { name: 'Back to Notes' }).click()

  // The values side by side on A, with device and time; keep the one not shown now.
  await table(pageA, 'Notes').getByRole('button', { name: 'Conflicting edits in Groceries' }).click()
  const dialog = pageA.getByRole('dialog', { name: 'Conflicting edits' })
  const values = dialog.getByTestId('conflict-value')
  await values.nth(1).waitFor()
  assert.equal(await values.count(), 2)
  const texts = await values.allInnerTexts()
  assert.ok(texts.some((x) => x.includes('milk, eggs') && x.includes('Laptop')), texts.join(' | '))
  assert.ok(texts.some((x) => x.includes('milk, bread') && x.includes('Phone')), texts.join(' | '))
  const kept = texts[1]!.includes('milk, eggs') ? 'milk, eggs' : 'milk, bread'
  await shot(pageA, 'conflicts-3-side-by-side')
  await values.nth(1).getByRole('button', { name: /Keep this/ }).click()
  await dialog.waitFor({ state: 'detached' })
  for (const page of [pageA, pageB]) {
    await table(page, 'Notes').getByRole('cell', { name: kept }).waitFor()
    await eventually(async () => (await table(page, 'Notes').getByRole('button', { name: /Conflicting edits/ }).count()) === 0, 'badge gone', WAIT)
    await page.getByTestId('conflicts').waitFor({ state: 'detached' })
  }
  await shot(pageB, 'conflicts-4-b-cleared')
  assert.equal((await client(dirB, 'doc', 'get', 'Notes', docID)).conflicts, undefined)

  // A counter's + on both windows adds up.
  await table(pageA, 'Notes').getByRole('button', { name: 'Add 1 to likes of Groceries' }).click()
  await table(pageB, 'Notes').getByRole('button', { name: 'Add 1 to likes of Groceries' }).click()
  await eventually(async () => (await client(dirA, 'doc', 'get', 'Notes', docID)).fields.likes === 2 && (await client(dirB, 'doc', 'get', 'Notes', docID)).fields.likes === 2, 'likes 2 on both', WAIT)
  await shot(pageA, 'conflicts-5-counter')
})
