/**
 * Runs @doyensec/electronegativity (its `run()` API: the command line exits 0 whatever it finds)
 * over the built app in out/, the JavaScript and HTML Electron actually loads.
 *
 * Its parser (@typescript-eslint/typescript-estree 4) needs TypeScript's JS compiler API; npm hoists
 * it next to our TypeScript 7, which has none. Electronegativity ships its own TypeScript 4 nested
 * in its folder, so its parser is pointed at that one. It also fetches translations and Electron's
 * release list with `got`: tests stay off the internet, so `got` is replaced by one that fails (it
 * then uses its bundled English text), and the release check (AvailableSecurityFixes) is left out.
 */
import { createRequire, registerHooks } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const ENEG_DIR = join(ROOT, 'node_modules', '@doyensec', 'electronegativity')
const NESTED_TS = pathToFileURL(join(ENEG_DIR, 'node_modules', 'typescript', 'lib', 'typescript.js')).href
const OFFLINE_GOT = new URL('./offline-got.cjs', import.meta.url).href
/** Checks that need the internet (they compare with Electron's latest releases). */
const ONLINE_CHECKS = ['availablesecurityfixesglobalcheck']

registerHooks({
  resolve(specifier, context, next) {
    if (specifier === 'typescript' && context.parentURL !== undefined && /[/\\]node_modules[/\\](@typescript-eslint|tsutils)[/\\]/.test(context.parentURL)) {
      return { url: NESTED_TS, format: 'commonjs', shortCircuit: true }
    }
    if (specifier === 'got' && context.parentURL?.includes('/@doyensec/electronegativity/') === true) {
      return { url: OFFLINE_GOT, format: 'commonjs', shortCircuit: true }
    }
    return next(specifier, context)
  },
})

export interface Finding {
  id: string
  severity: string
  confidence: string
  file: string
  line: number
  manualReview: boolean
  description: string
}

interface RawIssue {
  id: string
  severity: { name: string }
  confidence: { name: string }
  file: string
  location: { line: number }
  manualReview?: boolean
  description: string
}

export async function scan(input: string, electronVersion: string): Promise<{ checks: number; findings: Finding[]; errors: Array<{ file: string; message: string; tolerable: boolean }> }> {
  const run = createRequire(import.meta.url)(ENEG_DIR) as (o: object) => Promise<{
    globalChecks: number; atomicChecks: number; issues: RawIssue[]; errors: Array<{ file: string; message: string; tolerable: boolean }>
  }>
  const r = await run({ input, customScan: [], excludeFromScan: ONLINE_CHECKS, electronVersionOverride: electronVersion, isRelative: true })
  return {
    checks: r.globalChecks + r.atomicChecks,
    errors: r.errors,
    findings: r.issues.map((i) => ({
      id: i.id, severity: i.severity.name, confidence: i.confidence.name, file: i.file,
      line: i.location.line, manualReview: i.manualReview === true, description: i.description,
    })),
  }
}
