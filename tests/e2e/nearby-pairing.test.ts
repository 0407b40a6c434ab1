/**
 * Nearby pairing in the window, end to end: two real headless nodes (`tandem start --ui`,
 * 127.0.0.1, no mDNS: the phone dials the laptop at start with --peers and asks by `tandem client
 * pair nearby`, as its Pair button would). The laptop refuses until its person clicks "Let a nearby
 * device pair" (a countdown shows); the request shows the name the phone claims, marked unverified,
 * and no code; the phone's window shows the code; a wrong code typed on the laptop pairs nothing;
 * the right one pairs both. Leaving the page closes "Pair nearby". Screenshots to $E2E_SCREENS.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'
import { client, clientFails } from '../cli/cli.ts'
import { browserFor, openPage, SCREENS } from './browser.ts'
import { startUiNode, type UiNode } from './ui-node.ts'
import { section } from './window.ts'


test('nearby pairing in the window: closed until opened, the code shown on one typed on the other, a wrong code pairs nothing', { timeout: 120_000 }, async (t) => {
  const browser = await browserFor(t)
  if (browser === null) return

  const nodes: UiNode[] = []
  t.after(async () => { await Promise.all(nodes.map((n) => n.stop())) })
  const [dirA, dirB] = [await tempDir(t), await tempDir(t)]
  const a = await startUiNode(dirA, 'Laptop')
  nodes.push(a)
  const infoA = await eventually(() => client(dirA, 'p2p', 'info').catch(() => undefined), 'the laptop\'s API')
  const b = await startUiNode(dirB, 'Phone', 30_000, ['--peers', infoA.addresses[0]])
  nodes.push(b)

  const open = (node: UiNode): Promise<Page> => openPage(t, browser, node.url, { width: 1180, height: 760 })
  const [pageA, pageB] = [await open(a), await open(b)]
  const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(SCREENS, `${name}.png`) })
  await section(pageA, 'Devices & peers')
  await section(pageB, 'Devices & peers')

  // 1. The laptop has not opened Pair nearby: the phone's request is refused, with what to do.
  const refused = await clientFails(dirB, 'PAIRING_CLOSED', 'pair', 'nearby', infoA.peerID)
  assert.match(refused, /not accepting pairing requests now: open Pair nearby on it/)
  assert.equal(await pageA.getByRole('heading', { name: 'Pairing requests' }).count(), 0, 'nothing shown on the laptop')

  // 2. The laptop's person lets a nearby device pair: a countdown from 3:00.
  await pageA.getByRole('button', { name: 'Let a nearby device pair' }).click()
  const countdown = pageA.getByTestId('pairing-countdown')
  await countdown.waitFor()
  assert.match(await countdown.innerText(), /^(3:00|2:5\d)$/)
  await pageA.getByRole('status').filter({ hasText: 'Taking pairing requests' }).waitFor()
  await shot(pageA, 'nearby-1-a-open')

  // 3. The phone asks; its window shows the code; the laptop's shows the claimed name, unverified, and no code.
  const { code } = await client(dirB, 'pair', 'nearby', infoA.peerID)
  const shownCode = pageB.getByLabel('Pairing code')
  await shownCode.waitFor()
  assert.equal(await shownCode.innerText(), code)
  await pageB.getByText('On it, type this code').waitFor()
  const request = pageA.locator('li.request')
  await request.waitFor()
  assert.match(await request.innerText(), /A device that calls itself “Phone” \(unverified\) wants to pair with this device/)
  assert.ok(!(await pageA.locator('body').innerText()).includes(code), 'the laptop does not show the code')
  await shot(pageB, 'nearby-2-b-code')
  await shot(pageA, 'nearby-2-a-request')

  // 4. A wrong code: an inline error with the tries left; nothing paired.
  const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0')
  await pageA.getByLabel('Code shown on Phone').fill(wrong)
  await pageA.getByRole('button', { name: 'Check code and pair' }).click()
  await pageA.getByRole('alert').filter({ hasText: 'Wrong code: 2 tries left' }).waitFor()
  await pageB.getByText('A wrong code was typed there: 2 tries left.').waitFor()
  assert.deepEqual(await client(dirA, 'device', 'list'), [])
  await shot(pageA, 'nearby-3-a-wrong')

  // 5. The code the phone shows: both paired, the requests gone, Pair nearby closed.
  await pageA.getByLabel('Code shown on Phone').fill(code)
  await pageA.getByRole('button', { name: 'Check code and pair' }).click()
  for (const [page, other] of [[pageA, 'Phone'], [pageB, 'Laptop']] as const) {
    await page.getByRole('table', { name: 'Group devices' }).getByRole('cell', { name: other, exact: true }).waitFor()
    await page.getByRole('heading', { name: 'Pairing requests' }).waitFor({ state: 'detached' })
  }
  await pageA.getByRole('button', { name: 'Let a nearby device pair' }).waitFor()
  await shot(pageA, 'nearby-4-a-paired')

  // 6. Opened again, then the page left: closed.
  await pageA.getByRole('button', { name: 'Let a nearby device pair' }).click()
  await pageA.getByRole('button', { name: 'Stop taking requests' }).waitFor()
  await section(pageA, 'This device')
  await section(pageA, 'Devices & peers')
  await pageA.getByRole('button', { name: 'Let a nearby device pair' }).waitFor()
  assert.deepEqual(await client(dirA, 'pair', 'close'), { open: false, until: null })
})
