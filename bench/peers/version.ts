/** The installed version of a package in bench/node_modules (read from disk: many do not export ./package.json). */
import { readFileSync } from 'node:fs'

export function version(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}
