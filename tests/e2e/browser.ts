/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser build). Returns null when
 * no Chromium is installed outside CI; in CI (.ci/run installs it) a missing browser is a failure.
 */
import { existsSync, mkdirSync } from 'node:fs'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'
import { chromium, type Browser, type Page } from 'playwright-core'
import { WAIT } from './window.ts'

/** Where the e2e tests put their screenshots ($E2E_SCREENS, default test-artifacts/e2e/, ignored by git). */
export const SCREENS = process.env['E2E_SCREENS'] ?? fileURLToPath(new URL('../../test-artifacts/e2e/', import.meta.url))

const CANDIDATES = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => p !== undefined && p !== '')

export function chromiumPath(): string | null {
  return CANDIDATES.find((p) => existsSync(p)) ?? null
}

export async function launchChromium(): Promise<Browser | null> {
  const executablePath = chromiumPath()
  if (executablePath === null) {
    if (process.env['CI'] !== undefined) throw new Error('Chromium is missing: .ci/run installs the Debian package `chromium`')
    return null
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/**
 * Chromium for one test, closed after it, with the screenshots folder made. Null — and the test
 * marked skipped — where there is no Chromium outside CI.
 */
export async function browserFor(t: TestContext): Promise<Browser | null> {
  const browser = await launchChromium()
  if (browser === null) {
    t.skip('no Chromium here (apt-get install chromium); CI installs it')
    return null
  }
  t.after(() => browser.close())
  mkdirSync(SCREENS, { recursive: true })
  return browser
}

/**
 * A page of its own on `url`, waiting up to WAIT for what it looks for; the test fails at its end
 * if the page threw a script error.
 */
export async function openPage(t: TestContext, browser: Browser, url: string, viewport = { width: 1180, height: 800 }): Promise<Page> {
  const page = await (await browser.newContext({ viewport })).newPage()
  page.setDefaultTimeout(WAIT)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  t.after(() => assert.deepEqual(errors, [], 'no script errors in the page'))
  await page.goto(url)
  return page
}
