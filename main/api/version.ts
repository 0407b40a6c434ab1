/** The package version, from package.json (found from main/api in the source tree, or from out/main when built). */
import { readFileSync } from 'node:fs'

export const version: string = (() => {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'tandem' && typeof pkg.version === 'string') return pkg.version
    } catch { /* try the next */ }
  }
  return '0.0.0'
})()
