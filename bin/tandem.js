#!/usr/bin/env node
// The `tandem` command. Tandem's sources are TypeScript run by Node 22's type stripping; the
// project brings Node 22 as the npm package `node` (npx and npm scripts put it first on PATH).
// Started by an older Node (e.g. a system one), re-run the same command on the project's own.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const [major, minor] = process.versions.node.split('.').map(Number)
const modern = major > 22 || (major === 22 && minor >= 18)
if (modern) {
  await import('../main/cli/main.ts')
} else {
  const own = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(own)) {
    process.stderr.write(`tandem: needs Node.js 22.18 or later (this is ${process.version}); run \`npm ci\` in the project to get it.\n`)
    process.exit(1)
  }
  const child = spawn(own, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
  child.on('exit', (code, signal) => process.exit(code ?? (signal !== null ? 1 : 0)))
}
