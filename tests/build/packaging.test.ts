/** electron-builder.yml matches the tree: targets for the three systems, an icon that exists and is big enough, natives unpacked. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { PNG } from 'pngjs'

const root = fileURLToPath(new URL('../../', import.meta.url))
const yml = readFileSync(`${root}electron-builder.yml`, 'utf8')
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string>; main: string }

test('packaging: AppImage + deb, nsis, dmg from the built output, with the app icon', () => {
  for (const target of ['AppImage', 'deb', 'nsis', 'dmg']) assert.match(yml, new RegExp(`- ${target}\\b|target: ${target}\\b`), target)
  assert.match(pkg.scripts.dist ?? '', /electron-vite build && electron-builder/)
  assert.equal(pkg.main, 'out/main/index.js')
  const icon = /^icon: (\S+)$/m.exec(yml)?.[1]
  assert.ok(icon !== undefined && existsSync(`${root}${icon}`), `icon ${icon} exists`)
  const png = PNG.sync.read(readFileSync(`${root}${icon}`))
  assert.ok(png.width >= 512 && png.width === png.height, 'a square icon of at least 512 px (macOS needs 512)')
  for (const native of ['classic-level', 'node-datachannel', '@node-datachannel']) assert.ok(yml.includes(`node_modules/${native}/**`), `${native} unpacked from the asar`)
})

test('packaging flips the Electron fuses that turn the app into something else', () => {
  const fuses = /^electronFuses:\n((?:[ \t]+\S.*\n?)+)/m.exec(yml)?.[1] ?? ''
  const value = (name: string): string | undefined => new RegExp(`^\\s+${name}:\\s*(\\w+)`, 'm').exec(fuses)?.[1]
  assert.equal(value('runAsNode'), 'false', 'ELECTRON_RUN_AS_NODE ignored')
  assert.equal(value('enableNodeOptionsEnvironmentVariable'), 'false', 'NODE_OPTIONS ignored')
  assert.equal(value('enableNodeCliInspectArguments'), 'false', '--inspect and SIGUSR1 ignored')
  assert.equal(value('enableEmbeddedAsarIntegrityValidation'), 'true')
  assert.equal(value('onlyLoadAppFromAsar'), 'true')
})
