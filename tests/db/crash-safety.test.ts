/**
 * Crash safety: a writer process (fixtures/crash-writer.ts) is killed with SIGKILL in the middle of
 * a stream of writes, again and again on the same data directory; after each kill the directory
 * must open cleanly and hold every write the writer acknowledged, and of the one write that may
 * have been in flight, all of it or none of it.
 *
 * The writer prints a `begin` line before each write and an `ack` line after its promise resolved.
 * Only complete lines (ending in \n) count: a line cut short by the kill is ignored. Everything
 * acknowledged before the kill is read to the end of the pipe, so the expected state is exact. This
 * covers a crash of the process (the OS still flushes what LevelDB wrote), not power loss.
 *
 * The writes come from a fixed seed, like the property tests; TANDEM_PROPERTY_SEED=<n> tries another
 * sequence (the kill timing varies from run to run whatever the seed).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Database } from '../../main/db/database.ts'
import type { DocumentView } from '../../shared/types.ts'
import { tempDir } from '../helpers/tmp.ts'

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url))
const EMPTY = { title: null, pages: null, tags: null, read: null, body: null }

type Fields = Record<string, unknown>
type Write =
  | { op: 'create'; seq: number; fields: Fields[]; docIDs?: string[] }
  | { op: 'bulk'; seq: number; fields: Fields[]; docIDs?: string[] }
  | { op: 'update'; seq: number; docID: string; patch: Fields }
  | { op: 'delete'; seq: number; docID: string }
type Line = { phase: 'ready'; live: number; deviceID: string } | ({ phase: 'begin' | 'ack' } & Write)

interface ModelDoc { fields: Fields; deleted: boolean }
type Model = Map<string, ModelDoc>

/**
 * When to kill: after k acknowledged writes (at the first bulk ack from k on, if afterBulk), `lag`
 * ms after reading that line (so the kill lands at different points of the next write), or `ms`
 * after start.
 */
type KillAt = { k: number; afterBulk?: boolean; lag?: number } | { ms: number }

interface Round { lines: Line[]; acks: number; partial: string; readyMs: number | null }

/** Runs the writer on `dir` and kills it with SIGKILL at `at`; returns every complete line it wrote. */
function runWriter(dir: string, seed: number, tag: string, at: KillAt): Promise<Round> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, [WRITER, dir, String(seed), tag], { stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: Line[] = []
    let buf = ''
    let stderr = ''
    let acks = 0
    let killed = false
    let readyMs: number | null = null
    let bad: Error | null = null
    const kill = (): void => {
      if (killed) return
      killed = true
      child.kill('SIGKILL')
    }
    const timer = 'ms' in at ? setTimeout(kill, at.ms) : null
    const guard = setTimeout(() => { bad ??= new Error(`the writer never reached its kill point ${JSON.stringify(at)}`); kill() }, 15_000)
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (d: string) => { stderr += d })
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      buf += chunk
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        let line: Line
        try {
          line = JSON.parse(text) as Line
        } catch {
          bad ??= new Error(`the writer printed a line that is not JSON: ${text.slice(0, 200)}`)
          continue
        }
        lines.push(line)
        if (line.phase === 'ready') readyMs = performance.now() - started
        if (line.phase === 'ack') acks++
        if ('k' in at && !killed) {
          const reached = at.k === 0 ? line.phase === 'ready' : line.phase === 'ack' && acks >= at.k
          if (reached && (!at.afterBulk || (line.phase === 'ack' && line.op === 'bulk'))) {
            if (at.lag === undefined) kill()
            else { killed = true; setTimeout(() => child.kill('SIGKILL'), at.lag) }
          }
        }
      }
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(guard)
      if (timer !== null) clearTimeout(timer)
      if (bad !== null) return reject(bad)
      if (!killed || signal !== 'SIGKILL') {
        return reject(new Error(`the writer exited by itself (code ${code}, signal ${signal}):\n${stderr}`))
      }
      // `buf` is what the kill cut short: not a complete line, so not acknowledged.
      resolve({ lines, acks, partial: buf, readyMs })
    })
  })
}

function clone(d: ModelDoc): ModelDoc {
  return { fields: structuredClone(d.fields), deleted: d.deleted }
}

/** Applies one write to the model (a copy of the entries it touches; the caller decides to keep them). */
function applied(model: Model, w: Write, docIDs?: string[]): Model {
  const out: Model = new Map()
  if (w.op === 'create' || w.op === 'bulk') {
    const ids = docIDs ?? w.docIDs
    assert.ok(ids !== undefined && ids.length === w.fields.length)
    w.fields.forEach((f, i) => {
      assert.ok(!model.has(ids[i]!), `docID ${ids[i]} created twice`)
      out.set(ids[i]!, { fields: { ...EMPTY, ...structuredClone(f) }, deleted: false })
    })
    return out
  }
  const before = model.get(w.docID)
  assert.ok(before !== undefined && !before.deleted, `the writer ${w.op}d ${w.docID}, which is not a live document`)
  const after = clone(before)
  if (w.op === 'update') Object.assign(after.fields, structuredClone(w.patch))
  else after.deleted = true
  out.set(w.docID, after)
  return out
}

/** Every document of Books, live and deleted, read by scanning (not from the stored count). */
async function scanAll(db: Database): Promise<Map<string, DocumentView>> {
  const all = new Map<string, DocumentView>()
  for (const query of [{ filter: { title: { _ne: null } } }, { deleted: true }]) {
    for (let offset = 0; ; offset += 10_000) {
      const page = await db.listDocuments('Books', { ...query, limit: 10_000, offset })
      for (const d of page.docs) all.set(d.docID, d)
      if (page.docs.length < 10_000) break
    }
  }
  return all
}

function state(d: DocumentView): ModelDoc {
  return { fields: d.fields, deleted: d.deleted }
}

function same(a: ModelDoc, b: ModelDoc): boolean {
  try {
    assert.deepStrictEqual(a, b)
    return true
  } catch {
    return false
  }
}

/**
 * Checks the reopened database against the model plus the write in flight (if any), and returns
 * the model of what is actually there (the in-flight write included if it landed).
 */
async function verify(db: Database, model: Model, inFlight: Write | undefined): Promise<{ model: Model; landed: boolean | null }> {
  const all = await scanAll(db)
  const next: Model = new Map([...model].map(([id, d]) => [id, clone(d)]))
  let landed: boolean | null = null

  // The write in flight: all of it or none of it.
  const extra = [...all.keys()].filter((id) => !model.has(id))
  if (inFlight?.op === 'create' || inFlight?.op === 'bulk') {
    if (extra.length === 0) {
      landed = false
    } else {
      const titles = inFlight.fields.map((f) => f.title as string)
      const byTitle = new Map(extra.map((id) => [all.get(id)!.fields.title as string, id]))
      assert.deepEqual([...byTitle.keys()].sort(), [...titles].sort(),
        `a ${inFlight.op} of ${titles.length} documents in flight at the kill must land whole or not at all; found ${extra.length} unknown documents`)
      const ids = titles.map((t) => byTitle.get(t)!)
      for (const [id, d] of applied(model, inFlight, ids)) next.set(id, d)
      landed = true
    }
  } else {
    assert.deepEqual(extra, [], 'documents nobody wrote')
  }
  if (inFlight?.op === 'update' || inFlight?.op === 'delete') {
    const actual = all.get(inFlight.docID)
    assert.ok(actual !== undefined, `${inFlight.docID} is missing`)
    const after = applied(model, inFlight).get(inFlight.docID)!
    if (same(state(actual), after)) {
      next.set(inFlight.docID, after)
      landed = true
    } else {
      landed = false
    }
  }

  // Every acknowledged write holds (and the in-flight one, as resolved above).
  for (const [id, want] of next) {
    const got = all.get(id)
    assert.ok(got !== undefined, `acknowledged document ${id} is missing`)
    assert.deepStrictEqual(state(got), want, `document ${id} (${String(want.fields.title)})`)
    assert.deepStrictEqual(state(await db.getDocument('Books', id)), want, `getDocument ${id}`)
    assert.ok(got.heads.length > 0, `${id} has no heads`)
    for (const h of got.heads) assert.ok(await db.hasBlock(h), `${id}: head block ${h} is missing`)
  }

  const live = [...next.values()].filter((d) => !d.deleted).length
  const scannedLive = [...all.values()].filter((d) => !d.deleted).length
  assert.equal(scannedLive, live, 'live documents found by scanning')
  assert.equal((await db.listDocuments('Books', { limit: 1 })).total, live, 'listDocuments total (the stored count)')
  assert.equal((await db.getCollection('Books')).count, live, 'collection count')
  return { model: next, landed }
}

test('SIGKILL during writes loses no acknowledged write and leaves no partial write', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t, 'tandem-crash-')
  const seed = Number(process.env.TANDEM_PROPERTY_SEED ?? 20261128)
  t.diagnostic(`seed ${seed}`)

  const rounds: Array<KillAt | 'during-startup'> = [
    { k: 7 },
    { k: 12, afterBulk: true },
    { k: 0 }, // as soon as it is ready: the kill lands in the first writes
    { k: 33, lag: 1 },
    'during-startup', // shortly before it would be ready: during Database.open or addCollections
    { k: 48, afterBulk: true },
    { k: 1, afterBulk: true, lag: 2 },
    { k: 90 },
    { k: 20, lag: 5 },
    { k: 60, afterBulk: true, lag: 3 },
  ]
  let model: Model = new Map()
  let deviceID: string | undefined
  let lastReadyMs = 200
  let totalAcks = 0
  for (const [i, spec] of rounds.entries()) {
    const at: KillAt = spec === 'during-startup' ? { ms: Math.max(1, Math.round(lastReadyMs - 15)) } : spec
    const round = await runWriter(dir, seed + i, `r${i}`, at)
    if (round.readyMs !== null) lastReadyMs = round.readyMs

    // Replay the complete lines: acknowledged writes into the model; at most one begin without ack.
    let inFlight: Write | undefined
    for (const line of round.lines) {
      if (line.phase === 'ready') {
        deviceID ??= line.deviceID
        assert.equal(line.deviceID, deviceID, 'the device key survives the kills')
        assert.equal(line.live, [...model.values()].filter((d) => !d.deleted).length, 'live documents the writer found on start')
      } else if (line.phase === 'begin') {
        assert.equal(inFlight, undefined, 'one write at a time')
        inFlight = line
      } else {
        assert.equal(inFlight?.seq, line.seq, 'an ack follows its begin')
        for (const [id, d] of applied(model, line)) model.set(id, d)
        inFlight = undefined
      }
    }
    totalAcks += round.acks

    let db: Database
    try {
      db = await Database.open(dir)
    } catch (err) {
      assert.fail(`round ${i}: the data directory does not open after the kill: ${(err as Error).message}`)
    }
    try {
      if (round.lines.some((l) => l.phase === 'ready') || model.size > 0) {
        const res = await verify(db, model, inFlight)
        model = res.model
        t.diagnostic(`round ${i}: kill ${JSON.stringify(at)} → ${round.acks} acks` +
          `${round.partial.length > 0 ? `, ${round.partial.length} bytes of a cut line` : ''}` +
          `, in flight: ${inFlight === undefined ? 'none' : `${inFlight.op} (${res.landed ? 'landed' : 'not landed'})`}` +
          `, ${[...model.values()].filter((d) => !d.deleted).length} live / ${model.size} documents`)
      } else {
        // Killed before the collection was surely added: it is there or not, and empty.
        const names = (await db.listCollections()).map((c) => c.name)
        if (names.includes('Books')) assert.equal((await db.getCollection('Books')).count, 0)
        t.diagnostic(`round ${i}: kill ${JSON.stringify(at)} → killed before ready (collections: ${names.join(', ') || 'none'})`)
      }
    } finally {
      await db.close()
    }
  }
  assert.ok(totalAcks > 100, `too few acknowledged writes to mean much (${totalAcks})`)

  // Still a working database after all those kills.
  const db = await Database.open(dir)
  try {
    const id = await db.createDocument('Books', { title: 'after the crashes' })
    await db.updateDocument('Books', id, { pages: 1 })
    const live = [...model.values()].filter((d) => !d.deleted).length
    assert.equal((await db.listDocuments('Books', { limit: 1 })).total, live + 1)
    assert.equal((await db.getDocument('Books', id)).fields.pages, 1)
  } finally {
    await db.close()
  }
})
