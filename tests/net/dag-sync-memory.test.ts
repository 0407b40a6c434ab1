/**
 * DAG sync on its own: two DagSyncs over in-memory libp2p streams (tests/helpers/memory-host.ts)
 * and in-memory stores (tests/helpers/memory-store.ts) — no TCP, no LevelDB. The real-node tests
 * (dag-fetch, dag-serving, access) stay for the whole path.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DagSync } from '../../main/net/dag-sync/dag-sync.ts'
import { blockDocID } from '../../main/db/block.ts'
import { FRAME_BLOCKS, MAX_INBOUND_STREAMS, PROTOCOL, READ_SLICE } from '../../main/net/dag-sync/constants.ts'
import { isTandemError } from '../../shared/errors.ts'
import { MemoryNetwork, type MemoryHost } from '../helpers/memory-host.ts'
import { Author, collectionID, holding, MemoryStore, type MemoryPrepared } from '../helpers/memory-store.ts'

const NOTES = collectionID('Notes')

async function setup(options: { members?: boolean } = {}): Promise<{ asker: DagSync<MemoryPrepared>; server: DagSync<MemoryPrepared>; mine: MemoryStore; theirs: MemoryStore; serverHost: MemoryHost; askerHost: MemoryHost }> {
  const net = new MemoryNetwork()
  const [askerHost, serverHost] = [await net.host(), await net.host()]
  const [mine, theirs] = [new MemoryStore(), new MemoryStore()]
  const member = (peer: string): boolean => options.members !== false && (peer === askerHost.peerId.toString() || peer === serverHost.peerId.toString())
  const asker = new DagSync({ host: askerHost, db: mine }, { isMember: member })
  const server = new DagSync({ host: serverHost, db: theirs }, { isMember: member })
  await asker.start()
  await server.start()
  return { asker, server, mine, theirs, serverHost, askerHost }
}

test('a device fetches a document and its ancestors, stopping at what it has', async () => {
  const { asker, mine, theirs, serverHost } = await setup()
  const author = await Author.create()
  const doc = await author.history(NOTES, 5)
  const other = await author.history(NOTES, 2)
  await holding(theirs, NOTES, [...doc, ...other])
  assert.deepEqual(serverHost.handlers.get(PROTOCOL)!.options, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })

  // It holds the first two blocks already and says so: only the three after them travel.
  await holding(mine, NOTES, doc.slice(0, 2))
  const r = await asker.fetch(serverHost.peerId, [doc[4]!.id], [doc[1]!.id])
  assert.deepEqual({ ...r, ms: 0 }, { received: 3, applied: 3, rejected: 0, missing: [], attested: 0, ms: 0 })
  assert.ok(r.ms > 0, 'its time in flight')
  assert.deepEqual([...mine.docs.get(NOTES)!.values()], [[doc[4]!.id]])
  assert.equal(mine.blocks.has(other[0]!.id), false, 'nothing it did not ask for')

  // A block the peer does not have is named missing; what it has still comes.
  const unknown = 'bafyreihzr5e4ywzerlhbkntdtno4koqfrswlxrhmofrzlni5yqgfui62oa'
  const r2 = await asker.fetch(serverHost.peerId, [other[1]!.id, unknown])
  assert.deepEqual({ ...r2, ms: 0 }, { received: 2, applied: 2, rejected: 0, missing: [unknown], attested: 0, ms: 0 })
})

test('an answer leaves as it is read: a frame of first blocks before the rest is read, every block after its parents', async (t) => {
  const { asker, mine, theirs, serverHost } = await setup()
  const author = await Author.create()
  // A frame's worth of documents never edited and some more (FRAME_BLOCKS first blocks take two
  // reads of READ_SLICE), and documents of three blocks, whose earlier blocks the walk finds below.
  assert.equal(FRAME_BLOCKS, 2 * READ_SLICE)
  const firsts = await Promise.all(Array.from({ length: FRAME_BLOCKS + 300 }, (_, i) => author.genesis(NOTES, { title: `n${i}` })))
  const histories = await Promise.all(Array.from({ length: 20 }, () => author.history(NOTES, 3)))
  await holding(theirs, NOTES, [...firsts, ...histories.flat()])
  // The server's third read and later ones wait until the asker has applied a frame: a server that
  // read the whole answer before sending any of it would never send.
  let open = (): void => {}
  const gate = new Promise<void>((resolve) => { open = resolve })
  t.after(() => open())
  const read = theirs.getBlocks.bind(theirs)
  let reads = 0
  let waited = 0
  theirs.getBlocks = async (cids) => {
    if (reads++ >= 2) { waited++; await gate }
    return read(cids)
  }
  const apply = mine.applyPrepared.bind(mine)
  mine.applyPrepared = async (prepared) => { open(); return apply(prepared) }
  // A block that arrives before a parent waits among the pending ones.
  const park = mine.pending.set.bind(mine.pending)
  let parked = 0
  mine.pending.set = (cid, bytes) => { parked++; return park(cid, bytes) }
  const want = [...firsts.map((b) => b.id), ...histories.map((h) => h.at(-1)!.id)]
  let timer: NodeJS.Timeout | undefined
  const r = await Promise.race([
    asker.fetch(serverHost.peerId, want),
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('no frame came before the whole answer was read')), 10_000) }),
  ]).finally(() => clearTimeout(timer))
  assert.ok(waited > 0, 'the server was still reading when the first frame was applied')
  const n = firsts.length + 3 * histories.length
  assert.deepEqual({ received: r.received, applied: r.applied, missing: r.missing }, { received: n, applied: n, missing: [] })
  assert.equal(parked, 0, 'no block arrived before its parents')
  for (const h of histories) assert.deepEqual(mine.docs.get(NOTES)!.get(blockDocID(h[0]!.block, h[0]!.cid)), [h[2]!.id])
})

test('the server counts a pull as running until the asker has applied it and closed', async () => {
  const { asker, server, mine, theirs, serverHost, askerHost } = await setup()
  const doc = await (await Author.create()).history(NOTES, 3)
  await holding(theirs, NOTES, doc)
  // The asker applies only when let: the server has sent everything by then, and still counts it.
  let letApply: () => void = () => {}
  const gate = new Promise<void>((r) => { letApply = r })
  const apply = mine.applyPrepared.bind(mine)
  mine.applyPrepared = async (p) => { await gate; return apply(p) }
  const fetched = asker.fetch(serverHost.peerId, [doc[2]!.id])
  const asking = askerHost.peerId.toString()
  for (let i = 0; i < 200 && !server.servingTo(asking); i++) await new Promise((r) => setTimeout(r, 5))
  assert.equal(server.servingTo(asking), true, 'serving while the asker pulls')
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(server.servingTo(asking), true, 'still, while the asker applies')
  letApply()
  assert.equal((await fetched).applied, 3)
  for (let i = 0; i < 200 && server.servingTo(asking); i++) await new Promise((r) => setTimeout(r, 5))
  assert.equal(server.servingTo(asking), false, 'over once the asker closed')
})

test('a peer outside the group is refused with UNAUTHORIZED, and nothing is read for it', async () => {
  const { asker, theirs, serverHost } = await setup({ members: false })
  const doc = await (await Author.create()).history(NOTES, 2)
  await holding(theirs, NOTES, doc)
  await assert.rejects(asker.fetch(serverHost.peerId, [doc[1]!.id]), (err) => {
    assert.ok(isTandemError(err, 'UNAUTHORIZED'))
    assert.equal(err.message, 'peer answered: refused: not a device of this group')
    return true
  })
  assert.deepEqual(theirs.calls, [])
})

test("the server's own failure reaches the asker as a coded error, not a reset", async () => {
  const { asker, theirs, serverHost } = await setup()
  const doc = await (await Author.create()).history(NOTES, 2)
  await holding(theirs, NOTES, doc)
  theirs.failWith = new Error('IO error: simulated read failure')
  await assert.rejects(asker.fetch(serverHost.peerId, [doc[1]!.id]), (err) => {
    assert.ok(isTandemError(err, 'INTERNAL'))
    assert.equal(err.message, 'peer answered: IO error: simulated read failure')
    assert.equal(err.details.remote, true)
    return true
  })
})

test('a failure to apply on the asking side is thrown as it is, and the stream is let go', async () => {
  const { asker, mine, theirs, serverHost } = await setup()
  const doc = await (await Author.create()).history(NOTES, 2)
  await holding(theirs, NOTES, doc)
  mine.failWith = new Error('IO error: simulated write failure')
  await assert.rejects(asker.fetch(serverHost.peerId, [doc[1]!.id]), /simulated write failure/)
  const served = serverHost.served.get(PROTOCOL)!.at(-1)!
  for (let i = 0; i < 100 && served.status === 'open'; i++) await new Promise((r) => setTimeout(r, 5))
  assert.notEqual(served.status, 'open')
})

test('after stop the protocol is no longer offered', async () => {
  const { asker, server, theirs, serverHost } = await setup()
  const doc = await (await Author.create()).history(NOTES, 1)
  await holding(theirs, NOTES, doc)
  await server.stop()
  assert.equal(serverHost.handlers.has(PROTOCOL), false)
  await assert.rejects(asker.fetch(serverHost.peerId, [doc[0]!.id]), (err) => isTandemError(err, 'UNREACHABLE'))
})
