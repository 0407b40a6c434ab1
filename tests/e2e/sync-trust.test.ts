/**
 * Sync you can trust, in the window (Debian's Chromium, two `tandem start --ui` nodes paired through
 * the CLI): the status bar's always-visible summary says the other device is verified in sync and
 * opens to the per-device, per-collection view; a document deleted on the other device is in this
 * window's Trash with its values, and Restore there brings it back on that device. Screenshots to
 * $E2E_SCREENS (default test-artifacts/e2e/).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { ApiClient } from '../../main/api/ws-client.ts'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'
import { apiFile, client } from '../cli/cli.ts'
import { browserFor, SCREENS } from './browser.ts'
import { startUiNode, type UiNode } from './ui-node.ts'
import { openCollection, WAIT } from './window.ts'


test('the window: verified sync summary and per-device view; Trash shows a delete from the other device and Restore brings it back there', { timeout: 120_000 }, async (t) => {
  const browser = await browserFor(t)
  if (browser === null) return
  const nodes: UiNode[] = []
  t.after(async () => { await Promise.all(nodes.map((n) => n.stop())) })
  const [dirA, dirB] = [await tempDir(t), await tempDir(t)]
  const [a, b] = await Promise.all([startUiNode(dirA, 'Laptop', 30_000, ['--anti-entropy', '1']), startUiNode(dirB, 'Phone', 30_000, ['--anti-entropy', '1'])])
  nodes.push(a, b)
  await client(dirB, 'pair', 'join', (await client(dirA, 'pair', 'invite')).uri)
  const connect = async (dir: string): Promise<ApiClient> => {
    const { address, token } = apiFile(dir)
    const api = await ApiClient.connect(address, token)
    t.after(() => api.close())
    return api
  }
  const [apiA, apiB] = await Promise.all([connect(dirA), connect(dirB)])
  await apiA.call('collections.add', { sdl: 'type Books { title: String! author: String }' })
  const { docIDs } = await apiA.call('documents.createMany', { collection: 'Books', docs: [{ title: 'Dune', author: 'F. Herbert' }, { title: 'Emma', author: 'Jane Austen' }] })
  await apiA.call('replicators.set', { target: (await apiB.call('node.info', {})).peerID, collections: ['Books'] })
  await eventually(async () => (await apiB.call('documents.list', { collection: 'Books' })).total === 2, 'the books on B', 30_000)

  const page = await (await browser.newContext({ viewport: { width: 1180, height: 820 } })).newPage()
  page.setDefaultTimeout(WAIT)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(a.url)

  // The status bar: verified by a head exchange after the writes, with how long ago.
  const summary = page.getByTestId('sync-summary')
  await summary.getByText(/^The other device in sync · verified \d+ s ago$/).waitFor({ timeout: 30_000 })
  await summary.locator('summary').click()
  const detail = page.getByRole('region', { name: 'Sync status per device' })
  await detail.getByText(/^Phone: in sync · connected$/).waitFor()
  await detail.getByText(/^Books: in sync \(checked \d+ s ago\)$/).waitFor()
  await page.screenshot({ path: join(SCREENS, 'sync-summary.png'), fullPage: true })
  await summary.locator('summary').click()

  // Deleted on the other device: in this window's Trash, with its values.
  await apiB.call('documents.delete', { collection: 'Books', docID: docIDs[0]! })
  await eventually(async () => (await apiA.call('documents.list', { collection: 'Books', deleted: true })).total === 1, 'the delete on A', 30_000)
  await openCollection(page, 'Books')
  await page.getByRole('button', { name: 'Trash', exact: true }).click()
  const trash = page.getByRole('region', { name: 'Trash' })
  const row = trash.getByRole('row').filter({ hasText: 'Dune' })
  await row.getByText('F. Herbert').waitFor()
  await page.screenshot({ path: join(SCREENS, 'trash.png'), fullPage: true })
  await row.getByRole('button', { name: 'Restore' }).click()
  await trash.getByText('The trash is empty.').waitFor()
  // The restore is a new change that reaches the device where it was deleted.
  await eventually(async () => !(await apiB.call('documents.get', { collection: 'Books', docID: docIDs[0]! })).deleted, 'restored on B', 30_000)
  assert.equal((await apiB.call('documents.get', { collection: 'Books', docID: docIDs[0]! })).fields.title, 'Dune')
  assert.deepEqual(errors, [], 'no script errors in the page')
})
