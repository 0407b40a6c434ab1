/**
 * tandem client backup export|import against real `tandem start` nodes: a car restores the same
 * documents and history on a fresh device (its authors trusted only with --trust-authors), a second
 * import changes nothing, json round trips; damaged, wrong and missing files fail with exit 1 and
 * a message naming what and where, and the store stays byte-for-byte the same.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import * as dagCbor from '@ipld/dag-cbor'
import { CarReader } from '@ipld/car/reader'
import { CarWriter } from '@ipld/car/writer'
import { ApiClient } from '../../main/api/ws-client.ts'
import { cidOf } from '../../main/db/cid.ts'
import { tempDir } from '../helpers/tmp.ts'
import { storeDigest } from '../helpers/store-digest.ts'
import { apiFile, client, clientFails, startDaemon, tandem, type Daemon } from './cli.ts'

type T = TestContext

async function api(dir: string): Promise<ApiClient> {
  const f = apiFile(dir)
  return ApiClient.connect(f.address, f.token)
}

/** Every document (the trash too) with its fields, heads and history. */
async function everything(dir: string): Promise<Record<string, unknown>> {
  const c = await api(dir)
  try {
    const out: Record<string, unknown> = {}
    for (const deleted of [false, true]) {
      for (let offset = 0; ; offset += 1000) {
        const page = await c.call('documents.list', { collection: 'Books', limit: 1000, offset, deleted })
        for (const d of page.docs) out[d.docID] = { fields: d.fields, deleted: d.deleted, heads: d.heads, history: await c.call('documents.history', { collection: 'Books', docID: d.docID }) }
        if (page.docs.length < 1000) break
      }
    }
    return out
  } finally {
    await c.close()
  }
}

async function restart(t: T, d: Daemon): Promise<Daemon> {
  await d.stop()
  return startDaemon(t, d.dataDir, [], { p2p: false })
}

test('backup: a car restores documents and history on a fresh node (authors trusted only when asked); twice changes nothing; json round trips; bad files change nothing', { timeout: 180_000 }, async (t) => {
  const root = await tempDir(t)
  const a = await startDaemon(t, join(root, 'a'), ['--device-name', 'Laptop'], { p2p: false })
  await client(a.dataDir, 'collection', 'add', 'type Books { title: String! pages: Int }')
  const docs = Array.from({ length: 300 }, (_, i) => ({ title: `book ${i}`, pages: i }))
  const { docIDs } = await client<{ docIDs: string[] }>(a.dataDir, 'doc', 'create', 'Books', JSON.stringify(docs))
  for (const id of docIDs.slice(0, 5)) await client(a.dataDir, 'doc', 'update', 'Books', id, '{"pages": 999}')
  await client(a.dataDir, 'doc', 'delete', 'Books', docIDs[5]!)
  const car = join(root, 'books.car')
  const json = join(root, 'books.json')
  const ex = await client(a.dataDir, 'backup', 'export', car)
  assert.deepEqual(ex.collections.map((c: { name: string; docs: number; blocks: number }) => [c.name, c.docs, c.blocks]), [['Books', 300, 306]])
  assert.deepEqual(ex.authors.map((x: { name: string }) => x.name), ['Laptop'])
  await client(a.dataDir, 'backup', 'export', json, '--format', 'json', '--collections', 'Books')
  await clientFails(a.dataDir, 'UNKNOWN_COLLECTION', 'backup', 'export', join(root, 'x.car'), '--collections', 'Nope')
  assert.match(await clientFails(a.dataDir, 'INVALID_INPUT', 'backup', 'export', car), /exists already; a backup does not replace a file/)
  await clientFails(a.dataDir, 'INVALID_INPUT', 'backup', 'export', join(root, 'no-such-dir', 'x.car'))
  assert.deepEqual((await readdir(root)).filter((f) => f.includes('.part')), [], 'no half file left')
  const fromA = await everything(a.dataDir)

  // A fresh device: A is not in its group, so the blocks are refused unless trusted.
  let b = await startDaemon(t, join(root, 'b'), [], { p2p: false })
  const refused = await clientFails(b.dataDir, 'UNTRUSTED_AUTHOR', 'backup', 'import', car)
  assert.match(refused, /Laptop \(12D3Koo/)
  const r = await tandem(['client', '--data-dir', b.dataDir, 'backup', 'import', car, '--trust-authors'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /Imported 300 documents into Books; 0 already here\./)
  assert.deepEqual(await everything(b.dataDir), fromA, 'same documents, heads and history (Laptop named as the backup names it)')

  b = await restart(t, b)
  await b.stop()
  const before = await storeDigest(b.dataDir)
  b = await startDaemon(t, b.dataDir, [], { p2p: false })
  const again = await tandem(['client', '--data-dir', b.dataDir, 'backup', 'import', car, '--trust-authors'])
  assert.match(again.stderr, /Imported 0 documents into Books; 300 already here\./)

  // Bad files: each exit 1 with what is wrong and where; nothing written.
  const bytes = new Uint8Array(await readFile(car))
  const truncated = join(root, 'truncated.car')
  await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)))
  assert.match(await clientFails(b.dataDir, 'BACKUP_INVALID', 'backup', 'import', truncated), /truncated: it ends inside block #\d+ \(which starts at byte offset \d+\)/)
  const flipped = join(root, 'flipped.car')
  const f = new Uint8Array(bytes)
  f[Math.floor(bytes.length / 2)]! ^= 0xff
  await writeFile(flipped, f)
  assert.match(await clientFails(b.dataDir, 'BACKUP_INVALID', 'backup', 'import', flipped), /block #\d+ \(byte offset \d+/)
  const badSig = join(root, 'badsig.car')
  await writeFile(badSig, await withBadSignature(bytes))
  assert.match(await clientFails(b.dataDir, 'BACKUP_INVALID', 'backup', 'import', badSig), /block #306 \(byte offset \d+, .*\[BAD_SIGNATURE\]/)
  const text = await readFile(json, 'utf8')
  const badDoc = join(root, 'bad.json')
  await writeFile(badDoc, text.replace(/"pages":7\b/, '"pages":"seven"'))
  assert.match(await clientFails(b.dataDir, 'BACKUP_INVALID', 'backup', 'import', badDoc), /document Books\[\d+\] \(bae-[^)]+\) is not valid: .*pages/)
  const badSyntax = join(root, 'syntax.json')
  await writeFile(badSyntax, text.slice(0, 500))
  assert.match(await clientFails(b.dataDir, 'BACKUP_INVALID', 'backup', 'import', badSyntax), /not valid JSON: .*position \d+/)
  assert.match(await clientFails(b.dataDir, 'NOT_FOUND', 'backup', 'import', join(root, 'missing.car')), /no backup file at/)
  await b.stop()
  assert.deepEqual(await storeDigest(b.dataDir), before, 'the second import and every bad file left the store byte-for-byte the same')

  // json into another fresh device: the same documents (new docIDs); a second import changes nothing.
  const c = await startDaemon(t, join(root, 'c'), [], { p2p: false })
  const rj = await tandem(['client', '--data-dir', c.dataDir, 'backup', 'import', json])
  assert.equal(rj.code, 0, rj.stderr)
  assert.match(rj.stderr, /Imported 299 documents into Books; 0 already here\./)
  const fieldsOf = (all: Record<string, unknown>): unknown[] => Object.values(all).filter((d) => !(d as { deleted: boolean }).deleted)
    .map((d) => (d as { fields: { title: string } }).fields).sort((x, y) => x.title.localeCompare(y.title))
  assert.deepEqual(fieldsOf(await everything(c.dataDir)), fieldsOf(fromA))
  const rj2 = await tandem(['client', '--data-dir', c.dataDir, 'backup', 'import', json])
  assert.match(rj2.stderr, /Imported 0 documents into Books; 299 already here\./)
})

/** The car with its last data block (a head: nothing links it) re-signed wrongly, under its new CID. */
async function withBadSignature(bytes: Uint8Array): Promise<Uint8Array> {
  const reader = await CarReader.fromBytes(bytes)
  const blocks = []
  for await (const b of reader.blocks()) blocks.push(b)
  const last = blocks.length - 2 // the manifest is last
  const block = dagCbor.decode(blocks[last]!.bytes) as { sig: { s: Uint8Array } }
  block.sig.s[0]! ^= 1
  const forged = dagCbor.encode(block)
  blocks[last] = { cid: cidOf(forged), bytes: forged }
  const { writer, out } = CarWriter.create(await reader.getRoots())
  const chunks: Uint8Array[] = []
  const collect = (async () => { for await (const c of out) chunks.push(c) })()
  for (const b of blocks) await writer.put(b)
  await writer.close()
  await collect
  return new Uint8Array(Buffer.concat(chunks))
}

test('tandem start --backup-dir --backup-every writes car snapshots on schedule and keeps the newest --backup-keep; sync status shows the last', { timeout: 90_000 }, async (t) => {
  const root = await tempDir(t)
  const snaps = join(root, 'snaps')
  // 0.0003 h ≈ 1.1 s
  const a = await startDaemon(t, join(root, 'a'), ['--backup-dir', snaps, '--backup-every', '0.0003', '--backup-keep', '2'], { p2p: false })
  assert.match(a.out(), /snapshots: {4}a car every 0\.0003 h in .*snaps, the last 2 kept/)
  await client(a.dataDir, 'collection', 'add', 'type Books { title: String! }')
  await client(a.dataDir, 'doc', 'create', 'Books', '[{"title": "Dune"}, {"title": "Emma"}]')
  const seen = new Set<string>()
  const end = Date.now() + 30_000
  while (seen.size < 4 && Date.now() < end) {
    for (const f of await readdir(snaps).catch(() => [] as string[])) if (f.endsWith('.car')) seen.add(f)
    await new Promise((r) => setTimeout(r, 200))
  }
  assert.ok(seen.size >= 4, `snapshots ran: ${[...seen].join(', ')}`)
  const status = await client(a.dataDir, 'sync', 'status')
  assert.ok(status.lastSnapshot !== null && Date.now() - status.lastSnapshot.at < 10_000, JSON.stringify(status.lastSnapshot))
  assert.equal(status.lastSnapshot.docs, 2)
  assert.equal(await a.stop(), 0)
  const kept = (await readdir(snaps)).filter((f) => f.endsWith('.car'))
  assert.equal(kept.length, 2, `rotated to 2: ${kept.join(', ')}`)
  assert.ok(!(await readdir(snaps)).some((f) => f.endsWith('.part')), 'no half snapshot left by the stop')
  // A snapshot restores like any backup.
  const b = await startDaemon(t, join(root, 'b'), [], { p2p: false })
  const newest = kept.sort().at(-1)!
  const r = await tandem(['client', '--data-dir', b.dataDir, 'backup', 'import', join(snaps, newest), '--trust-authors'])
  assert.match(r.stderr, /Imported 2 documents into Books; 0 already here\./)
  assert.equal((await tandem(['start', '--no-p2p', '--backup-dir', snaps])).code, 2)
  assert.equal((await tandem(['start', '--no-p2p', '--backup-dir', snaps, '--backup-every', '-1'])).code, 2)
})
