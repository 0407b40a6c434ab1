/**
 * Replication on its own: `push` against a ReplicateServer over in-memory libp2p streams and an
 * in-memory store (tests/helpers/memory-*.ts) — no TCP, no LevelDB. The real-node tests
 * (replicators, replicate-empty, group) stay for the whole path.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { PeerId, Stream } from '@libp2p/interface'
import { push, ReplicateServer } from '../../main/net/replicate/protocol.ts'
import { MAX_INBOUND_STREAMS, PROTOCOL } from '../../main/net/replicate/constants.ts'
import { Channel } from '../../main/net/wire.ts'
import { z } from 'zod'
import { isTandemError } from '../../shared/errors.ts'
import { MemoryNetwork, type MemoryHost } from '../helpers/memory-host.ts'
import { Author, collectionID, MemoryStore } from '../helpers/memory-store.ts'

const NOTES = collectionID('Notes')
const SCHEMA = { id: NOTES, sdl: 'type Notes { title: String }', partial: false }

async function setup(options: { members?: boolean } = {}): Promise<{ sender: MemoryHost; target: MemoryHost; store: MemoryStore; pendings: Array<[PeerId, string[]]> }> {
  const net = new MemoryNetwork()
  const [sender, target] = [await net.host(), await net.host()]
  const store = new MemoryStore()
  const pendings: Array<[PeerId, string[]]> = []
  const server = new ReplicateServer({ host: target, db: store }, {
    isMember: (peer) => options.members !== false && peer === sender.peerId.toString(),
    onPending: (peer, cids) => pendings.push([peer, cids]),
  })
  await server.start()
  return { sender, target, store, pendings }
}

test('a pushed batch is imported and applied before the ack, which counts each outcome', async () => {
  const { sender, target, store, pendings } = await setup()
  assert.deepEqual(target.handlers.get(PROTOCOL)!.options, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
  const doc = await (await Author.create()).history(NOTES, 3)
  const ack = await push(sender, target.peerId, [SCHEMA], doc.map((b) => b.bytes), new Uint8Array(64))
  assert.deepEqual(ack, { ok: true, applied: 3, duplicate: 0, pending: [], rejected: 0 })
  assert.deepEqual(store.collections.get(NOTES), { sdl: SCHEMA.sdl, partial: false })
  assert.equal(store.blocks.size, 3)
  assert.deepEqual(await push(sender, target.peerId, [], doc.map((b) => b.bytes)), { ok: true, applied: 0, duplicate: 3, pending: [], rejected: 0 })
  assert.deepEqual(pendings, [])
})

test('schema versions pushed with a batch are imported before its blocks apply', async () => {
  const { sender, target, store } = await setup()
  const doc = await (await Author.create()).history(NOTES, 2)
  const versions = [{ id: 'v2' }, { id: 'v3' }]
  await push(sender, target.peerId, [SCHEMA], doc.map((b) => b.bytes), undefined, versions)
  assert.deepEqual(store.versions, versions)
  assert.ok(store.calls.indexOf('importVersions') < store.calls.indexOf('applyPrepared'), store.calls.join(', '))
  // A push with no versions (as an older sender's) imports none.
  await push(sender, target.peerId, [], doc.map((b) => b.bytes))
  assert.equal(store.calls.filter((c) => c === 'importVersions').length, 1)
})

test('blocks whose ancestors are missing wait, and the target asks the sender for them', async () => {
  const { sender, target, pendings } = await setup()
  const doc = await (await Author.create()).history(NOTES, 3)
  const ack = await push(sender, target.peerId, [SCHEMA], [doc[2]!.bytes, new Uint8Array([1, 2, 3])])
  assert.deepEqual(ack, { ok: true, applied: 0, duplicate: 0, pending: [doc[2]!.id], rejected: 1 })
  assert.equal(pendings.length, 1)
  assert.equal(pendings[0]![0].toString(), sender.peerId.toString())
  assert.deepEqual(pendings[0]![1], [doc[2]!.id])
})

test('a sender outside the group is refused with UNAUTHORIZED, and nothing is written', async () => {
  const { sender, target, store } = await setup({ members: false })
  const doc = await (await Author.create()).history(NOTES, 1)
  await assert.rejects(push(sender, target.peerId, [SCHEMA], [doc[0]!.bytes]), (err) => {
    assert.ok(isTandemError(err, 'UNAUTHORIZED'))
    assert.equal(err.message, 'the device answered: refused: not a device of this group')
    return true
  })
  assert.deepEqual(store.calls, [])
})

test('a target that cannot commit answers a coded error; the sender does not take it for an ack', async () => {
  const { sender, target, store } = await setup()
  const doc = await (await Author.create()).history(NOTES, 1)
  await store.importCollection(NOTES, SCHEMA.sdl, {})
  store.failWith = new Error('IO error: simulated write failure')
  await assert.rejects(push(sender, target.peerId, [], [doc[0]!.bytes]), (err) => {
    assert.ok(isTandemError(err, 'INTERNAL'))
    assert.equal(err.message, 'the device answered: IO error: simulated write failure')
    return true
  })
})

test('junk is not answered: the stream ends', async () => {
  const { sender, target, store } = await setup()
  const ch = new Channel(await sender.dialProtocol(target.peerId, PROTOCOL), { maxMessageBytes: 1 << 20 })
  await ch.send({ v: 1, schemas: 'nope', blocks: [] })
  await assert.rejects(ch.recv(z.unknown()), /could not read a message/)
  assert.deepEqual(store.calls, [])
})

test("an older target's refusal ({ ok: false, error }) reads as UNAUTHORIZED", async () => {
  const net = new MemoryNetwork()
  const [sender, old] = [await net.host(), await net.host()]
  await old.handle(PROTOCOL, async (stream: Stream) => {
    const ch = new Channel(stream, { maxMessageBytes: 1 << 20 })
    await ch.send({ ok: false, error: 'refused: not a device of this group' })
    await ch.close()
  })
  await assert.rejects(push(sender, old.peerId, [], []), (err) => isTandemError(err, 'UNAUTHORIZED') && /not a device of this group/.test(err.message))
})
