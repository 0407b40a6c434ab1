/**
 * A hostile member against group sync, with three real nodes over loopback TCP (issue 21, finding
 * 1): whatever M sends while a member, A's removal of M reaches B with a new secret, and what A
 * writes after the removal never reaches M.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import { PROTOCOL as GROUP } from '../../main/net/group-sync/constants.ts'
import { Channel } from '../../main/net/wire.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'

const NOTES = 'type Notes { title: String! }'
const TEN_YEARS = 10 * 365 * 24 * 3600_000

/** The group-secret signature as it travels: the maker's Ed25519 over domain, epoch and sha256(secret). */
async function signed(maker: TandemNode, epoch: number, secret: Uint8Array): Promise<{ by: string; sig: Uint8Array }> {
  const e = Buffer.alloc(8)
  e.writeBigUInt64BE(BigInt(epoch))
  const msg = Buffer.concat([Buffer.from('tandem/group-secret/v1\0', 'latin1'), e, createHash('sha256').update(secret).digest()])
  return { by: maker.deviceID, sig: await maker.db.identity.sign(msg) }
}

/** M, still a member on `to`, sends it a group state of its making over group sync. */
async function send(m: TandemNode, to: TandemNode, state: { epoch: number; secret: Uint8Array; addedAt: number }): Promise<void> {
  const stream = await m.host!.dialProtocol(to.host!.peerId, GROUP, { signal: AbortSignal.timeout(5000) })
  const ch = new Channel(stream, { maxMessageBytes: 1 << 20, signal: AbortSignal.timeout(5000) })
  await ch.send({
    t: 'state', epoch: state.epoch, secret: state.secret, ...await signed(m, state.epoch, state.secret),
    devices: [{ deviceID: m.deviceID, name: 'm', addrs: [], addedAt: state.addedAt, removedAt: null }],
  })
  await ch.recv(z.any()) // its answer: the merge ran
  await ch.close()
}

async function threeNodes(t: Parameters<typeof startNode>[0]): Promise<[TandemNode, TandemNode, TandemNode]> {
  const nodes: [TandemNode, TandemNode, TandemNode] = [await startNode(t), await startNode(t), await startNode(t)]
  for (const n of nodes) await n.db.addCollections(NOTES)
  await formGroup(nodes)
  await eventually(() => nodes.every((n) => n.connectedDevices().length === 2), 'all three connected')
  await new Promise((r) => setTimeout(r, 1000)) // the group exchanges on connect are over
  // M is hostile: told it was removed, it stays (keeps its secret and its list of devices).
  nodes[2].group.leave = async () => {}
  return nodes
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex')
}

/** After the removal: A and B agree on a secret M did not make and the group did not have; A's new document reaches B and not M. */
async function removalHeld(a: TandemNode, b: TandemNode, m: TandemNode, old: string, mine: string): Promise<void> {
  await eventually(() => !b.group.has(m.deviceID), 'B learned the removal')
  await eventually(() => hex(a.group.secret.bytes) === hex(b.group.secret.bytes), 'A and B share a secret')
  for (const n of [a, b]) {
    assert.notEqual(hex(n.group.secret.bytes), mine, 'not the one M chose')
    assert.notEqual(hex(n.group.secret.bytes), old, 'a new one')
    assert.ok(Number.isSafeInteger(n.group.epoch))
  }
  const id = await a.db.createDocument('Notes', { title: 'written after M was removed' })
  await eventually(() => b.db.getDocument('Notes', id).catch(() => undefined), 'B has it')
  await new Promise((r) => setTimeout(r, 1500))
  assert.equal(a.group.has(m.deviceID), false, 'M is still removed on A')
  assert.equal(b.group.has(m.deviceID), false, 'and on B')
  await assert.rejects(m.db.getDocument('Notes', id), /no document/, 'M never got it')
}

test('M sends epoch and addedAt 2^53-1 with a secret of its own; A removes M; B still learns it, with the new secret', async (t) => {
  const [a, b, m] = await threeNodes(t)
  const old = hex(a.group.secret.bytes)
  const mine = randomBytes(32)
  for (const to of [a, b]) await send(m, to, { epoch: Number.MAX_SAFE_INTEGER, secret: mine, addedAt: Number.MAX_SAFE_INTEGER })
  await a.removeDevice(m.deviceID)
  await removalHeld(a, b, m, old, hex(mine))
})

test('M tells B it was added ten years from now; A removes M; the removal holds on B and A', async (t) => {
  const [a, b, m] = await threeNodes(t)
  const old = hex(a.group.secret.bytes)
  await send(m, b, { epoch: b.group.epoch, secret: b.group.secret.bytes, addedAt: Date.now() + TEN_YEARS })
  await a.removeDevice(m.deviceID)
  await removalHeld(a, b, m, old, old)
})

test('M, removed while A was away from B, pushes B a secret of its own first; A and B still end on one M does not know', async (t) => {
  const [a, b, m] = await threeNodes(t)
  const old = hex(a.group.secret.bytes)
  await a.pause()
  await eventually(() => !b.connectedDevices().includes(a.deviceID), 'A away')
  await a.group.remove(m.deviceID) // what removeDevice does, with nobody to tell
  await a.group.rekey()
  // B has not heard; M (a member there still) rekeys B to a secret of its own, with an epoch a few
  // minutes ahead and the largest bytes, so that it outranks A's.
  const mine = Buffer.alloc(32, 0xff)
  await send(m, b, { epoch: Math.max(b.group.epoch + 1, Date.now() + 4 * 60_000), secret: mine, addedAt: 0 })
  assert.equal(hex(b.group.secret.bytes), hex(mine), 'B took it: M was a member as far as B knew')
  a.resume()
  await removalHeld(a, b, m, old, hex(mine))
})
