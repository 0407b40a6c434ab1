/**
 * Head exchange on its own: two HeadExchanges over in-memory libp2p streams and in-memory stores
 * (tests/helpers/memory-*.ts) — no TCP, no LevelDB. The real-node tests (resync, access) stay.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Stream } from '@libp2p/interface'
import { HeadExchange } from '../../main/net/head-exchange/head-exchange.ts'
import { MAX_INBOUND_STREAMS, PROTOCOL } from '../../main/net/head-exchange/constants.ts'
import { bucketOf } from '../../main/db/digest.ts'
import * as dagCbor from '@ipld/dag-cbor'
import { Channel } from '../../main/net/wire.ts'
import type { CollectionID } from '../../shared/types.ts'
import { isTandemError } from '../../shared/errors.ts'
import { z } from 'zod'
import { MemoryNetwork, type MemoryHost } from '../helpers/memory-host.ts'
import { Author, collectionID, holding, MemoryStore } from '../helpers/memory-store.ts'

const NOTES = collectionID('Notes')
const TASKS = collectionID('Tasks')
const ONLY_MINE = collectionID('Drafts')

async function setup(options: { members?: boolean } = {}): Promise<{ asker: HeadExchange; mine: MemoryStore; theirs: MemoryStore; serverHost: MemoryHost }> {
  const net = new MemoryNetwork()
  const [askerHost, serverHost] = [await net.host(), await net.host()]
  const [mine, theirs] = [new MemoryStore(), new MemoryStore()]
  const member = (): boolean => options.members !== false
  const asker = new HeadExchange({ host: askerHost, db: mine }, { isMember: member })
  const server = new HeadExchange({ host: serverHost, db: theirs }, { isMember: member })
  await asker.start()
  await server.start()
  return { asker, mine, theirs, serverHost }
}

test('equal collections cost a digest; a changed document is found by its bucket, with the peer\'s heads', async () => {
  const { asker, mine, theirs, serverHost } = await setup()
  assert.deepEqual(serverHost.handlers.get(PROTOCOL)!.options, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
  const author = await Author.create()
  const same = await author.history(TASKS, 2)
  const notes = [await author.history(NOTES, 1), await author.history(NOTES, 1), await author.history(NOTES, 1)]
  const changed = await author.change([notes[0]![0]!], { title: 'changed there' })
  await holding(mine, TASKS, same)
  await holding(theirs, TASKS, same)
  await holding(mine, NOTES, notes.flat())
  await holding(theirs, NOTES, [...notes.flat(), changed])
  await holding(mine, ONLY_MINE, await author.history(ONLY_MINE, 1))

  const r = await asker.compare(serverHost.peerId)
  assert.equal(r.compared, 3)
  assert.deepEqual(r.unknown, [ONLY_MINE])
  assert.deepEqual([...r.differing.keys()], [NOTES], 'the equal collection is not looked into')
  const docID = `bae-${notes[0]![0]!.id}`
  const { buckets, docs } = r.differing.get(NOTES)!
  assert.deepEqual(buckets, [bucketOf(docID)])
  // Every document of that bucket comes (another one may share it, by chance), with the peer's heads.
  assert.deepEqual(docs.find((d) => d.docID === docID), { docID, heads: [changed.id] })
  assert.ok(docs.every((d) => bucketOf(d.docID) === buckets[0]))
  assert.deepEqual(theirs.calls.filter((c) => c === 'bucketDigests'), ['bucketDigests'], 'buckets read for the differing collection only')

  // Nothing differs any more once the asker has the change.
  await holding(mine, NOTES, [changed])
  const again = await asker.compare(serverHost.peerId, [NOTES, TASKS])
  assert.deepEqual({ differing: [...again.differing], unknown: again.unknown, compared: again.compared }, { differing: [], unknown: [], compared: 2 })
})

test('a peer outside the group is refused with UNAUTHORIZED, and nothing is read for it', async () => {
  const { asker, mine, theirs, serverHost } = await setup({ members: false })
  await holding(mine, NOTES, await (await Author.create()).history(NOTES, 1))
  await assert.rejects(asker.compare(serverHost.peerId), (err) => {
    assert.ok(isTandemError(err, 'UNAUTHORIZED'))
    assert.equal(err.message, 'peer answered: refused: not a device of this group')
    return true
  })
  assert.deepEqual(theirs.calls, [])
})

test("the server's own failure reaches the asker as a coded error", async () => {
  const { asker, mine, theirs, serverHost } = await setup()
  const doc = await (await Author.create()).history(NOTES, 1)
  await holding(mine, NOTES, doc)
  await holding(theirs, NOTES, [])
  theirs.failWith = new Error('IO error: simulated read failure')
  await assert.rejects(asker.compare(serverHost.peerId), (err) => isTandemError(err, 'INTERNAL') && /simulated read failure/.test(err.message))
})

test("an older peer's refusal ({ error }, no code) reads as UNAUTHORIZED", async () => {
  const net = new MemoryNetwork()
  const [askerHost, oldHost] = [await net.host(), await net.host()]
  const mine = await holding(new MemoryStore(), NOTES, await (await Author.create()).history(NOTES, 1))
  const asker = new HeadExchange({ host: askerHost, db: mine }, { isMember: () => true })
  await oldHost.handle(PROTOCOL, async (stream: Stream) => {
    const ch = new Channel(stream, { maxMessageBytes: 1 << 20 })
    await ch.send({ error: 'refused: not a device of this group' })
    await ch.close()
  })
  await assert.rejects(asker.compare(oldHost.peerId), (err) => isTandemError(err, 'UNAUTHORIZED') && /not a device of this group/.test(err.message))
})

test('an older asker reads the new refusal as the error it knew', async () => {
  const net = new MemoryNetwork()
  const [oldHost, serverHost] = [await net.host(), await net.host()]
  const server = new HeadExchange({ host: serverHost, db: new MemoryStore() }, { isMember: () => false })
  await server.start()
  // The buckets reader of a peer from before the error frame.
  const OldBuckets = z.union([
    z.object({ cols: z.array(z.unknown()), unknown: z.array(z.string()) }),
    z.object({ error: z.string().max(500) }),
  ])
  const ch = new Channel(await oldHost.dialProtocol(serverHost.peerId, PROTOCOL), { maxMessageBytes: 1 << 20 })
  await ch.send({ v: 1, cols: [] })
  assert.deepEqual(await ch.recv(OldBuckets), { error: 'refused: not a device of this group' })
  await ch.close()
})

/** Two collections held there, none here: 30 documents never edited and 3 edited (two heads for one). */
async function differingStores(): Promise<{ mine: MemoryStore; theirs: MemoryStore; edited: Set<string> }> {
  const author = await Author.create()
  const theirs = new MemoryStore()
  const edited = new Set<string>()
  for (const col of [NOTES, TASKS]) {
    const firsts = await Promise.all(Array.from({ length: 15 }, () => author.history(col, 1)))
    await holding(theirs, col, firsts.flat())
    const [a, b] = [firsts[0]![0]!, firsts[1]![0]!]
    const ea = await author.change([a], { title: 'edited' })
    const eb1 = await author.change([b], { title: 'here' })
    const eb2 = await author.change([b], { title: 'there' }) // concurrent: two heads
    await holding(theirs, col, [ea, eb1, eb2])
    edited.add(`bae-${a.id}`).add(`bae-${b.id}`)
  }
  const mine = new MemoryStore()
  await holding(mine, NOTES, [])
  await holding(mine, TASKS, [])
  return { mine, theirs, edited }
}

/** Every document's heads as the store holds them, for each collection. */
function headsHeld(store: MemoryStore, col: CollectionID): Map<string, string[]> {
  return new Map([...store.docs.get(col) ?? []].map(([d, h]) => [d, [...h].sort()]))
}

test('compact frames: the collection once a frame, documents never edited by their docID alone; the asker gets every head', async () => {
  const net = new MemoryNetwork()
  const [askerHost, serverHost] = [await net.host(), await net.host()]
  const { mine, theirs, edited } = await differingStores()
  const asker = new HeadExchange({ host: askerHost, db: mine }, { isMember: () => true })
  const server = new HeadExchange({ host: serverHost, db: theirs }, { isMember: () => true })
  await asker.start()
  await server.start()
  const heard: Array<[CollectionID, number]> = []
  const r = await asker.compare(serverHost.peerId, [NOTES, TASKS], (c, docs) => heard.push([c, docs.length]))
  for (const col of [NOTES, TASKS]) {
    const got = new Map(r.differing.get(col)!.docs.map((d) => [d.docID as string, [...d.heads].sort()]))
    assert.deepEqual(got, headsHeld(theirs, col), 'every document with the heads held there')
    assert.equal([...got].filter(([d, h]) => !(h.length === 1 && d === `bae-${h[0]}`)).length, 2, 'two edited documents a collection')
    for (const d of edited) if (got.has(d)) assert.notEqual(got.get(d)![0], d.slice(4))
  }
  assert.deepEqual(heard.map(([c]) => c).sort(), [NOTES, TASKS].sort(), 'one frame a collection, each heard once')
  assert.equal(heard.reduce((n, [, k]) => n + k, 0), 30)
})

test('compact frames are what a new asker gets: a third of the bytes of the first shape for documents never edited', async () => {
  const author = await Author.create()
  const theirs = new MemoryStore()
  const docs = (await Promise.all(Array.from({ length: 200 }, () => author.history(NOTES, 1)))).flat()
  await holding(theirs, NOTES, docs)
  const mine = await holding(new MemoryStore(), NOTES, [])
  const bytesOf = async (f: number | undefined): Promise<{ bytes: number; frames: unknown[] }> => {
    const net = new MemoryNetwork()
    const [askerHost, serverHost] = [await net.host(), await net.host()]
    const server = new HeadExchange({ host: serverHost, db: theirs }, { isMember: () => true })
    await server.start()
    // An asker speaking the protocol by hand: with `f: 2` as this version asks, without as a device before it.
    const ch = new Channel(await askerHost.dialProtocol(serverHost.peerId, PROTOCOL), { maxMessageBytes: 4 << 20 })
    const digests = await mine.collectionDigests()
    await ch.send({ v: 1, cols: [{ id: NOTES, d: digests.get(NOTES)! }], ...(f === undefined ? {} : { f }) })
    const answer = await ch.recv(z.object({ cols: z.array(z.object({ id: z.string(), buckets: z.instanceof(Uint8Array) })) }))
    const local = await mine.bucketDigests(NOTES)
    const differ = Array.from({ length: 256 }, (_, b) => b).filter((b) => Buffer.compare(local.subarray(b * 32, b * 32 + 32), answer.cols[0]!.buckets.subarray(b * 32, b * 32 + 32)) !== 0)
    await ch.send({ want: [{ id: NOTES, buckets: differ }] })
    const frames: unknown[] = []
    let bytes = 0
    for (;;) {
      const frame = await ch.recv(z.record(z.string(), z.unknown()))
      bytes += dagCbor.encode(frame).length
      if ('done' in frame) break
      frames.push(frame)
    }
    await ch.close()
    return { bytes, frames }
  }
  const old = await bytesOf(undefined)
  const compact = await bytesOf(2)
  assert.ok(old.frames.every((f) => Object.keys(f as object).join() === 'docs'), 'a device from before compact frames gets the first shape')
  assert.deepEqual(old.frames.flatMap((f) => (f as { docs: Array<{ c: string }> }).docs.map((d) => d.c)), docs.map(() => NOTES))
  assert.ok(compact.frames.every((f) => Object.keys(f as object).sort().join() === 'c,g,o'), 'compact frames when asked for')
  assert.equal(compact.frames.reduce((n: number, f) => n + (f as { g: unknown[] }).g.length, 0), 200)
  assert.ok(compact.bytes * 2.5 < old.bytes, `compact ${compact.bytes} B against ${old.bytes} B`)
})

test('a new asker reads the first shape from a device before compact frames (which drops the key it does not know)', async () => {
  const net = new MemoryNetwork()
  const [askerHost, oldHost] = [await net.host(), await net.host()]
  const { mine, theirs } = await differingStores()
  const asker = new HeadExchange({ host: askerHost, db: mine }, { isMember: () => true })
  await asker.start()
  // The answerer of the version before: its Digests schema has no `f` (zod drops it), and it streams { docs: [{ c, d, h }] }.
  const OldDigests = z.object({ v: z.literal(1), cols: z.array(z.object({ id: z.string(), d: z.instanceof(Uint8Array) })) })
  const OldWant = z.object({ want: z.array(z.object({ id: z.string(), buckets: z.array(z.number()) })) })
  let asked: unknown
  await oldHost.handle(PROTOCOL, async (stream: Stream) => {
    const ch = new Channel(stream, { maxMessageBytes: 4 << 20 })
    const first = await ch.recv(OldDigests.passthrough())
    const { cols } = first
    asked = first
    await ch.send({ cols: await Promise.all(cols.map(async ({ id }) => ({ id, buckets: await theirs.bucketDigests(id as CollectionID) }))), unknown: [] })
    const { want } = await ch.recv(OldWant)
    for (const { id, buckets } of want) {
      const docs = await theirs.bucketHeads(id as CollectionID, buckets)
      await ch.send({ docs: docs.map((d) => ({ c: id, d: d.docID, h: d.heads })) })
    }
    await ch.send({ done: true })
    await ch.close()
  })
  const r = await asker.compare(oldHost.peerId, [NOTES, TASKS])
  assert.equal((asked as { cols: unknown[] }).cols.length, 2)
  assert.equal((asked as { f?: unknown }).f, 2, 'a new asker asks for compact frames (a device before them never reads the key)')
  for (const col of [NOTES, TASKS]) {
    assert.deepEqual(new Map(r.differing.get(col)!.docs.map((d) => [d.docID as string, [...d.heads].sort()])), headsHeld(theirs, col))
  }
})
