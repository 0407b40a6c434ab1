/**
 * The parts of main/ and who may use whom (README "Layout"): the database uses no other part; the
 * network uses the database; the node wires both; the API, CLI and Electron shell sit on the node.
 * Nothing imports upward, and no file reaches itself through its imports (type imports included:
 * a circle of types still ties two files together). The database owns its storage: nothing else
 * in main/ touches LevelDB or the store.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const MAIN = join(ROOT, 'main')

/** Which parts of main/ each part may import (besides itself, shared/ and packages). */
const MAY_USE: Record<string, readonly string[]> = {
  db: [],
  net: ['db'],
  node: ['db', 'net'],
  api: ['db', 'net', 'node'],
  cli: ['db', 'net', 'node', 'api'],
  electron: ['db', 'net', 'node', 'api', 'cli'],
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : []
  })
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

/** Each file of main/ → the files of main/ it imports. */
function graph(): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const file of files(MAIN)) {
    const targets: string[] = []
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? ''
      if (!spec.startsWith('.')) continue
      const target = resolve(dirname(file), spec)
      if (target.startsWith(MAIN + '/')) targets.push(target)
    }
    out.set(file, targets)
  }
  return out
}

/** Each file of main/ → every module it imports, as written (packages and relative paths). */
function specifiers(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? '')
}

const partOf = (file: string): string => relative(MAIN, file).split('/')[0] ?? ''
const name = (file: string): string => relative(ROOT, file)

test('no part of main/ imports a part above it', () => {
  const wrong: string[] = []
  for (const [file, targets] of graph()) {
    const from = partOf(file)
    const allowed = MAY_USE[from]
    if (allowed === undefined) continue // main/start.ts and the like: top level
    for (const target of targets) {
      const to = partOf(target)
      if (to !== from && !allowed.includes(to)) wrong.push(`${name(file)} → ${name(target)}`)
    }
  }
  assert.deepEqual(wrong, [])
})

test('no file of main/ imports itself through a circle', () => {
  const g = graph()
  const state = new Map<string, 'open' | 'done'>()
  const circles: string[] = []
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'open') {
      circles.push([...path.slice(path.indexOf(file)), file].map(name).join(' → '))
      return
    }
    state.set(file, 'open')
    for (const t of g.get(file) ?? []) visit(t, [...path, file])
    state.set(file, 'done')
  }
  for (const file of g.keys()) visit(file, [])
  assert.deepEqual(circles, [])
})

/** LevelDB and its layers: only main/db may open or reach them. */
const STORAGE_PACKAGES = /^(classic-level|abstract-level|level|memory-level|browser-level|level-transcoder)(\/|$)/
/** The store's internals: the store itself, its sublevels, and the accessor tests use (`storeOf`). */
const REACHES_STORE = /\.store\s*\.|\bstoreOf\b|\.sublevel\s*\(/

test('outside main/db nothing in main/ imports LevelDB or the store, or reaches a sublevel', () => {
  const STORE = join(MAIN, 'db', 'store.ts')
  const wrong: string[] = []
  for (const file of files(MAIN)) {
    if (partOf(file) === 'db') continue
    for (const spec of specifiers(file)) {
      if (STORAGE_PACKAGES.test(spec)) wrong.push(`${name(file)} imports ${spec}`)
      if (spec.startsWith('.') && resolve(dirname(file), spec) === STORE) wrong.push(`${name(file)} imports main/db/store.ts`)
    }
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (REACHES_STORE.test(line)) wrong.push(`${name(file)}:${i + 1} reaches the store: ${line.trim()}`)
    })
  }
  assert.deepEqual(wrong, [])
})

/**
 * The protocols that stand alone (README "Layout"): each takes a ProtocolHost (or a little more of
 * the host) and a small store or group interface of its own, so none imports libp2p (its host type
 * included) or the Database class; from main/db/database.ts only other types (e.g. PreparedBlocks).
 * Their tests run them over in-memory streams and stores (nearby: real nodes only, for now).
 * main/net/replicate/replicators.ts (a service over the database, not a protocol) adopts this later.
 */
const STANDALONE = [
  'main/net/dag-sync/', 'main/net/schema-sync/', 'main/net/head-exchange/', 'main/net/replicate/protocol.ts', 'main/net/replicate/constants.ts',
  'main/net/group-sync/', 'main/net/pairing/', 'main/net/nearby/', 'main/net/protocol-service.ts', 'main/net/wire.ts',
]
const STATEMENT = /(?:^|\n)\s*(?:import|export)\s+(type\s+)?([^'"`;]*?)\s*from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

test('the protocols that stand alone import neither libp2p nor the Database class', () => {
  const DATABASE = join(MAIN, 'db', 'database.ts')
  const wrong: string[] = []
  const checked = files(MAIN).filter((f) => STANDALONE.some((p) => name(f).startsWith(p)))
  assert.ok(checked.length >= 20, 'the files are where this test looks')
  for (const file of checked) {
    for (const m of readFileSync(file, 'utf8').matchAll(STATEMENT)) {
      const typeOnly = m[1] !== undefined
      const names = m[2] ?? ''
      const spec = m[3] ?? m[4] ?? ''
      if (spec === 'libp2p' || spec.startsWith('libp2p/')) wrong.push(`${name(file)} imports ${spec}`)
      if (spec.startsWith('.') && resolve(dirname(file), spec) === DATABASE && (!typeOnly || /\bDatabase\b/.test(names))) {
        wrong.push(`${name(file)} imports ${typeOnly ? '' : 'at runtime '}${names} from main/db/database.ts`)
      }
    }
  }
  assert.deepEqual(wrong, [])
})
