/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser build). Returns null when
 * no Chromium is installed outside CI; in CI (.ci/run installs it) a missing browser is a failure.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

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
