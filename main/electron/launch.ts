/**
 * `npm start`: opens the desktop app where the Electron binary is installed; where it is not (an
 * offline install, ELECTRON_SKIP_BINARY_DOWNLOAD), says so in one line and runs the headless node
 * with the same window served on a loopback URL (`tandem start --ui`), passing the arguments on.
 * Plain Node (not bundled, no `electron` import: requiring the electron package would try to
 * download the binary).
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The Electron executable the electron package installed, or null when it has none. */
export function electronBinary(electronDir = join(ROOT, 'node_modules', 'electron')): string | null {
  const pathFile = join(electronDir, 'path.txt')
  if (!existsSync(pathFile)) return null
  const binary = join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim())
  return existsSync(binary) ? binary : null
}

function run(command: string, args: string[]): void {
  const child = spawn(command, args, { stdio: 'inherit', cwd: ROOT })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)))
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  const binary = electronBinary()
  if (binary !== null) run(binary, [ROOT, ...args])
  else {
    console.log('tandem: the Electron binary is not installed here, so the window is served by the headless node instead (open the UI URL below).')
    run(process.execPath, [join(ROOT, 'bin', 'tandem.js'), 'start', '--ui', ...args])
  }
}
