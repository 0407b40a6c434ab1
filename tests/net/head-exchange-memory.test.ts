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
import { Channel } from '../../main/net/wire.ts'
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
