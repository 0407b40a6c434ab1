/**
 * The window's join card when this device has a group already: pasting another group's invite
 * asks first, in a dialog naming both groups. Cancel changes nothing (on either device, and the
 * invite stays usable); Merge groups joins. Three `tandem start --ui` nodes, paired through the
 * CLI where the window is not under test. Screenshots to $E2E_SCREENS (default test-artifacts/e2e/).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'
import { client } from '../cli/cli.ts'
import { browserFor, SCREENS } from './browser.ts'
import { startUiNode, type UiNode } from './ui-node.ts'
import { section, WAIT } from './window.ts'

type Device = { peerID: string; name: string }

test('joining another group\'s invite from a device in a group asks in a dialog naming both; Cancel changes nothing, Merge joins', { timeout: 120_000 }, async (t) => {
  const browser = await browserFor(t)
  if (browser === null) return
  const nodes: UiNode[] = []
  t.after(async () => { await Promise.all(nodes.map((n) => n.stop())) })
  const [dirA, dirB, dirC] = [await tempDir(t), await tempDir(t), await tempDir(t)]
  nodes.push(...await Promise.all([startUiNode(dirA, 'Laptop'), startUiNode(dirB, 'Desk'), startUiNode(dirC, 'Strange phone')]))
  await client(dirB, 'pair', 'join', (await client(dirA, 'pair', 'invite')).uri)
  const lists = (): Promise<string[][]> => Promise.all([dirA, dirB, dirC].map(async (d) => (await client<Device[]>(d, 'device', 'list')).map((x) => x.name).sort()))
  const before = await lists()
  assert.deepEqual(before, [['Desk'], ['Laptop'], []])
  const { uri } = await client<{ uri: string }>(dirC, 'pair', 'invite')

  const page = await (await browser.newContext({ viewport: { width: 1180, height: 900 } })).newPage()
  page.setDefaultTimeout(WAIT)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(nodes[1]!.url)
  await section(page, 'This device')
  const join_ = async (): Promise<void> => {
    await page.getByLabel('Invite link from the other device').fill(uri)
    await page.getByRole('button', { name: 'Join', exact: true }).click()
  }
  await join_()
  const dialog = page.getByRole('dialog', { name: 'Merge two groups?' })
  await dialog.waitFor()
  const text = await dialog.innerText()
  assert.match(text, /Laptop/, 'names the devices this device has')
  assert.match(text, /Strange phone/, 'names the inviter')
  await page.screenshot({ path: join(SCREENS, 'join-merge-ask.png') })
  await dialog.getByRole('button', { name: 'Cancel' }).click()
  await dialog.waitFor({ state: 'detached' })
  assert.equal(await page.getByRole('alert').count(), 0, 'Cancel is no error')
  assert.deepEqual(await lists(), before, 'Cancel changed nothing on any device')

  await join_()
  await dialog.getByRole('button', { name: 'Merge groups' }).click()
  await page.getByText('Joined — paired with Strange phone').waitFor()
  await page.screenshot({ path: join(SCREENS, 'join-merge-joined.png') })
  await eventually(async () => JSON.stringify(await lists()) === JSON.stringify([['Desk', 'Strange phone'], ['Laptop', 'Strange phone'], ['Desk', 'Laptop']]), 'one group of three', WAIT)
  assert.deepEqual(errors, [], 'no script errors in the page')
})
