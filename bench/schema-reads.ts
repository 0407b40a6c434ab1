/**
 * Reads across schema versions (issue 17): N documents written under v1 of Books and read under v3
 * (v2 adds `rating: Int`, v3 adds `shelf: String! @default(value: "hall")`), against the same N
 * documents written under one version with v3's fields. Times a plain first page, a full list
 * (limit 10k), a filter on an old field, a filter on the defaulted new field, and a sort; medians.
 *
 *   node bench/schema-reads.ts [--n 10000] [--runs 5]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Database } from '../main/db/database.ts'
import type { ListQuery } from '../shared/types.ts'

const { values } = parseArgs({ options: { n: { type: 'string', default: '10000' }, runs: { type: 'string', default: '5' } } })
const N = Number(values.n)
const RUNS = Number(values.runs)
const V1 = 'type Books { title: String! pages: Int }'
const V3 = 'type Books { title: String! pages: Int rating: Int shelf: String! @default(value: "hall") }'

const QUERIES: Array<[string, ListQuery]> = [
  ['first page (limit 50)', { limit: 50 }],
  ['list all (limit 10k)', { limit: 10_000 }],
  ['filter old field (pages > 500)', { filter: { pages: { _gt: 500 } }, limit: 10_000 }],
  ['filter new field (shelf = "hall")', { filter: { shelf: 'hall' }, limit: 10_000 }],
  ['sort by pages, desc', { sort: '-pages', limit: 50 }],
]

async function build(dir: string, versions: boolean): Promise<Database> {
  const db = await Database.open(dir)
  await db.addCollections(versions ? V1 : V3)
  const docs = Array.from({ length: N }, (_, i) => ({ title: `book ${i}`, pages: (i * 7919) % 1000, ...(versions ? {} : { shelf: 'hall' }) }))
  for (let i = 0; i < N; i += 5000) await db.createDocuments('Books', docs.slice(i, i + 5000))
  if (versions) {
    await db.updateCollection('type Books { title: String! pages: Int rating: Int }')
    await db.updateCollection(V3)
  }
  return db
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const base = await mkdtemp(join(tmpdir(), 'tandem-schema-reads-'))
try {
  const dbs = { 'one version (v3)': await build(join(base, 'one'), false), 'v1 docs read under v3': await build(join(base, 'three'), true) }
  const rows: string[] = []
  for (const [label, q] of QUERIES) {
    const cells: string[] = []
    for (const db of Object.values(dbs)) {
      await db.listDocuments('Books', q) // warm
      const times: number[] = []
      for (let r = 0; r < RUNS; r++) {
        const t0 = performance.now()
        const res = await db.listDocuments('Books', q)
        times.push(performance.now() - t0)
        if (res.total === 0) throw new Error(`${label}: nothing listed`)
      }
      cells.push(`${median(times).toFixed(1)} ms`)
    }
    rows.push(`| ${label} | ${cells.join(' | ')} |`)
  }
  console.log(`${N} documents, median of ${RUNS}\n| query | ${Object.keys(dbs).join(' | ')} |\n| --- | --- | --- |\n${rows.join('\n')}`)
  for (const db of Object.values(dbs)) await db.close()
} finally {
  await rm(base, { recursive: true, force: true })
}
