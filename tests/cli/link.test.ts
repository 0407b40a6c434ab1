/**
 * The README's quiet way to run `tandem`: a one-time `npm link` puts it on PATH, and from then on
 * `tandem …` prints its own output only — no npm engine warnings, whatever Node the shell has.
 * (Linked into a throwaway prefix here, not the machine's global one.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

test('after `npm link`, `tandem` runs from PATH and prints nothing but its own output', async (t) => {
  const prefix = await mkdtemp(join(tmpdir(), 'tandem-link-'))
  t.after(() => rm(prefix, { recursive: true, force: true }))
  const env = { ...process.env, npm_config_prefix: prefix }
  await run('npm', ['link', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: ROOT, env })
  const bin = process.platform === 'win32' ? prefix : join(prefix, 'bin')
  const pkg = JSON.parse((await import('node:fs')).readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  // From another directory, as a user would: the command must not depend on the project's cwd.
  const { stdout, stderr } = await run('tandem', ['--version'], {
    cwd: prefix, env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` },
  })
  assert.equal(stdout.trim(), pkg.version)
  assert.equal(stderr, '', 'no warnings before the output')
})
