/**
 * Schema versions merge as a function of the set of versions, like documents do for blocks: three
 * replicas with random compatible schema updates (add and remove fields, set defaults) and document
 * writes, with random, partial, duplicated delivery of versions and blocks, end with the same schema
 * and the same documents. Real LevelDB on disk for every replica.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Database } from '../../main/db/database.ts'
import { toSDL } from '../../main/db/schema.ts'
import { tempDir } from '../helpers/tmp.ts'
import { allBlocks, visibleState } from '../helpers/replicas.ts'

const SEED = Number(process.env.TANDEM_PROPERTY_SEED ?? 20261204)
// Each extra field name has one type everywhere, so every update is compatible with every other.
const EXTRA = [['rating', 'Int'], ['isbn', 'String'], ['read', 'Boolean'], ['score', 'Float']] as const

type Op =
  | { kind: 'add'; at: number; field: number; dflt: boolean }
  | { kind: 'remove'; at: number; field: number }
  | { kind: 'create'; at: number; title: string }
  | { kind: 'write'; at: number; pick: number; field: number; value: number }
  | { kind: 'sync'; from: number; to: number; keep: number[]; versions: boolean }

const replica = fc.integer({ min: 0, max: 2 })
const field = fc.nat(EXTRA.length - 1)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('add' as const), at: replica, field, dflt: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('remove' as const), at: replica, field }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('create' as const), at: replica, title: fc.string({ maxLength: 6 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('write' as const), at: replica, pick: fc.nat(3), field, value: fc.integer({ min: 0, max: 9 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('sync' as const), from: replica, to: replica, keep: fc.array(fc.nat(5), { maxLength: 4 }), versions: fc.boolean() }), weight: 3 },
)

function valueOf(type: string, n: number): unknown {
  return type === 'Int' ? n : type === 'String' ? `s${n}` : type === 'Boolean' ? n % 2 === 0 : n / 2
}

async function sdlWith(db: Database, change: (fields: string[]) => string[]): Promise<string> {
  const info = await db.getCollection('Notes')
  const lines = toSDL(info.schema).split('\n').slice(1, -1).map((l) => l.trim())
  return `type Notes {\n${change(lines).join('\n')}\n}`
}

async function run(t: Parameters<typeof tempDir>[0], ops: Op[]): Promise<void> {
  const dbs = await Promise.all([0, 1, 2].map(async () => Database.open(await tempDir(t))))
  try {
    for (const db of dbs) await db.addCollections('type Notes { title: String! }')
    const coll = (await dbs[0]!.getCollection('Notes')).id
    for (const op of ops) {
      if (op.kind === 'sync') {
        if (op.versions) await dbs[op.to]!.importVersions(dbs[op.from]!.schemaVersions(coll))
        const blocks = await allBlocks(dbs[op.from]!)
        const some = blocks.filter((_, i) => op.keep.length === 0 || op.keep.includes(i % 6))
        for (const r of await dbs[op.to]!.applyBlocks([...some, ...some.slice(0, 2)])) assert.notEqual(r.status, 'rejected', r.reason)
        continue
      }
      const db = dbs[op.at]!
      const [name, type] = op.kind === 'create' ? ['', ''] : EXTRA[op.field]!
      const current = (await db.getCollection('Notes')).schema.fields
      if (op.kind === 'add') {
        if (current.some((f) => f.name === name)) continue
        await db.updateCollection(await sdlWith(db, (ls) => [...ls, `${name}: ${type}${op.dflt ? ` @default(value: ${JSON.stringify(valueOf(type, 1))})` : ''}`]))
      } else if (op.kind === 'remove') {
        if (!current.some((f) => f.name === name)) continue
        await db.updateCollection(await sdlWith(db, (ls) => ls.filter((l) => !l.startsWith(`${name}:`))))
      } else if (op.kind === 'create') {
        await db.createDocument('Notes', { title: op.title })
      } else {
        const { live } = await visibleState(db, 'Notes')
        const doc = live[op.pick % Math.max(live.length, 1)]
        if (doc === undefined || !current.some((f) => f.name === name)) continue
        await db.updateDocument('Notes', doc.docID, { [name]: valueOf(type, op.value) })
      }
    }
    // Everyone gets everyone's versions and blocks.
    for (const to of dbs) for (const from of dbs) await to.importVersions(from.schemaVersions(coll))
    for (const to of dbs) for (const from of dbs) await to.importVersions(from.schemaVersions(coll)) // merge versions derived meanwhile
    for (const to of dbs) await to.applyBlocks((await Promise.all(dbs.map(allBlocks))).flat())
    const infos = await Promise.all(dbs.map((db) => db.getCollection('Notes')))
    for (const info of infos.slice(1)) {
      assert.deepEqual(info.schema, infos[0]!.schema)
      assert.equal(info.version, infos[0]!.version)
      assert.deepEqual(info.versions!.map((v) => v.id), infos[0]!.versions!.map((v) => v.id))
      assert.equal(info.conflicts, undefined, 'compatible updates never conflict')
    }
    const states = await Promise.all(dbs.map((db) => visibleState(db, 'Notes')))
    assert.deepEqual(states[1], states[0])
    assert.deepEqual(states[2], states[0])
    for (const db of dbs) assert.deepEqual(await db.pendingBlocks(), [])
  } finally {
    await Promise.all(dbs.map((db) => db.close()))
  }
}

test('three replicas with random compatible schema updates and writes, delivered at random, converge to one schema and the same documents', async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 40 }), async (ops) => run(t, ops)), { numRuns: 60, seed: SEED })
})
