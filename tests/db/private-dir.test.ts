/**
 * The data directory is readable by this OS user only, whether Tandem created it or it existed
 * before (a pre-made 0755 --data-dir under umask 022 used to stay 0755, its LevelDB files 0644 —
 * and those files hold the group secret).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Database } from '../../main/db/database.ts'
import { tempDir } from '../helpers/tmp.ts'

const posix = process.platform !== 'win32'

/** Every path under `dir` (itself included) whose mode lets group or others in. */
async function loose(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (path: string): Promise<void> => {
    const info = await stat(path)
    if ((info.mode & 0o077) !== 0) out.push(`${path} ${(info.mode & 0o777).toString(8)}`)
    if (info.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name))
  }
  await walk(dir)
  return out
}

async function useDatabase(dir: string): Promise<void> {
  const db = await Database.open(dir)
  if ((await db.listCollections()).length === 0) await db.addCollections('type Notes { body: String }')
  await db.createDocuments('Notes', Array.from({ length: 50 }, (_, i) => ({ body: `note ${i}` })))
  await db.close()
}

test('a data directory that existed with loose modes is made private on open, files included', { skip: !posix }, async (t) => {
  const before = process.umask(0o022)
  t.after(() => { process.umask(before) })
  const dir = join(await tempDir(t), 'premade')
  await mkdir(dir, { mode: 0o755 })
  await chmod(dir, 0o755)
  // A store written by an earlier run under umask 022: its files readable by everyone.
  await mkdir(join(dir, 'db'), { mode: 0o755 })
  await writeFile(join(dir, 'db', 'LOG.old'), 'group secret was here', { mode: 0o644 })
  await useDatabase(dir)
  assert.deepEqual(await loose(dir), [])
  assert.equal((await stat(dir)).mode & 0o777, 0o700)
  // Files LevelDB creates later (new tables, logs) are private too.
  await useDatabase(dir)
  assert.deepEqual(await loose(dir), [])
})

test('a data directory Tandem creates is private from the start', { skip: !posix }, async (t) => {
  const before = process.umask(0o022)
  t.after(() => { process.umask(before) })
  const dir = join(await tempDir(t), 'fresh', 'tandem')
  await useDatabase(dir)
  assert.equal((await stat(dir)).mode & 0o777, 0o700)
  assert.deepEqual(await loose(dir), [])
})
