/**
 * The app:// protocol's URL → file mapping and the navigation allowlist, without Electron: these
 * pure functions are what keep a page from reading files outside out/renderer or leaving the app.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join, sep } from 'node:path'
import fc from 'fast-check'
import { APP_ENTRY_URL, devServerOrigin, isAllowedNavigation, isAppUrl, resolveAppFile } from '../../main/electron/app-url.ts'

const ROOT = join(sep, 'opt', 'tandem', 'out', 'renderer')
const inside = (file: string | null): boolean => file === null || file.startsWith(ROOT + sep)

test('app:// URLs map to files under the renderer directory', () => {
  assert.equal(resolveAppFile(ROOT, APP_ENTRY_URL), join(ROOT, 'index.html'))
  assert.equal(resolveAppFile(ROOT, 'app://tandem/'), join(ROOT, 'index.html'))
  assert.equal(resolveAppFile(ROOT, 'app://tandem'), join(ROOT, 'index.html'))
  assert.equal(resolveAppFile(ROOT, 'app://tandem/assets/index-abc.js?v=1#x'), join(ROOT, 'assets', 'index-abc.js'))
  assert.equal(resolveAppFile(ROOT, 'app://tandem/assets/a%20b.css'), join(ROOT, 'assets', 'a b.css'))
})

test('app:// requests for another host or scheme are refused', () => {
  assert.equal(resolveAppFile(ROOT, 'app://evil/index.html'), null)
  assert.equal(resolveAppFile(ROOT, 'app://tandem.evil/index.html'), null)
  assert.equal(resolveAppFile(ROOT, 'file:///etc/passwd'), null)
  assert.equal(resolveAppFile(ROOT, 'https://tandem/index.html'), null)
  assert.equal(resolveAppFile(ROOT, 'not a url'), null)
})

test('app:// requests cannot climb out of the renderer directory', () => {
  // Encoded slashes survive URL parsing and only become `..` segments once decoded: refused.
  for (const url of [
    'app://tandem/..%2f..%2fetc%2fpasswd',
    'app://tandem/assets/..%2F..%2F..%2Fmain%2Findex.js',
    'app://tandem/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    'app://tandem/assets%2f..%2f..',
  ]) {
    assert.equal(resolveAppFile(ROOT, url), null, url)
  }
  // Dot segments, literal or percent-encoded, are removed by the URL parser: these stay inside
  // the directory (and then 404).
  assert.equal(resolveAppFile(ROOT, 'app://tandem/../../etc/passwd'), join(ROOT, 'etc', 'passwd'))
  assert.equal(resolveAppFile(ROOT, 'app://tandem/%2e%2e/%2E%2E/etc/passwd'), join(ROOT, 'etc', 'passwd'))
})

test('app:// requests with NUL bytes or broken percent-encoding are refused', () => {
  assert.equal(resolveAppFile(ROOT, 'app://tandem/index.html%00.png'), null)
  assert.equal(resolveAppFile(ROOT, 'app://tandem/%E0%A4%A'), null)
})

test('no app:// path, however encoded, resolves outside the renderer directory', () => {
  // Tokens are concatenated, with '/' one of them, so '..' meets encoded separators inside a
  // segment (`..%2f..`), where the URL parser's own dot-segment removal does not apply.
  const token = fc.constantFrom('/', '..', '.', '%2e', '%2E', '%2f', '%2F', '%5c', '\\', 'a', 'index.html', '%00', '%')
  fc.assert(fc.property(fc.array(token, { maxLength: 12 }), (tokens) => {
    const url = `app://tandem/${tokens.join('')}`
    assert.ok(inside(resolveAppFile(ROOT, url)), url)
  }), { seed: 20261128, numRuns: 5000 })
})

test('navigation is allowed only to the app itself, or the loopback dev server in development', () => {
  assert.ok(isAppUrl('app://tandem/index.html'))
  assert.ok(!isAppUrl('app://tandem.evil/index.html'))
  assert.ok(isAllowedNavigation('app://tandem/index.html#/settings', null))
  assert.ok(!isAllowedNavigation('https://example.com/', null))
  assert.ok(!isAllowedNavigation('file:///etc/passwd', null))
  assert.ok(!isAllowedNavigation('http://127.0.0.1:5173/', null), 'no dev server in production')

  const dev = 'http://127.0.0.1:5173'
  assert.ok(isAllowedNavigation('http://127.0.0.1:5173/index.html', dev))
  assert.ok(!isAllowedNavigation('http://127.0.0.1:5174/', dev))
  assert.ok(!isAllowedNavigation('https://example.com/', dev))
})

test('the dev server URL is accepted only for http on loopback', () => {
  assert.equal(devServerOrigin('http://127.0.0.1:5173'), 'http://127.0.0.1:5173')
  assert.equal(devServerOrigin('http://localhost:5173/'), 'http://localhost:5173')
  assert.equal(devServerOrigin(undefined), null)
  assert.equal(devServerOrigin(''), null)
  assert.equal(devServerOrigin('https://example.com'), null)
  assert.equal(devServerOrigin('http://example.com:5173'), null)
  assert.equal(devServerOrigin('http://127.0.0.1.example.com:5173'), null)
  assert.equal(devServerOrigin('file:///tmp/index.html'), null)
})
