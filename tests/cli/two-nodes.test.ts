/**
 * Two real `tandem start` processes driven only through `tandem client`: pair by invite, a
 * collection, documents (one and bulk), a replicator with --wait; one node stopped, edited with
 * --no-p2p, restarted: both sides converge.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'
import { client, clientFails, startDaemon } from './cli.ts'

test('two nodes paired, replicating, one edited offline with --no-p2p and resynced (CLI only)', { timeout: 180_000 }, async (t) => {
  const root = await tempDir(t)
  const dirA = join(root, 'a')
  const dirB = join(root, 'b')
  const a = await startDaemon(t, dirA, ['--device-name', 'laptop'])
  let b = await startDaemon(t, dirB, ['--device-name', 'desk'])
  assert.equal(statSync(join(dirA, 'api.json')).mode & 0o777, 0o600, 'api.json is readable by its owner only')

  const [infoA, infoB] = await Promise.all([client(dirA, 'p2p', 'info'), client(dirB, 'p2p', 'info')])
  assert.equal(infoA.deviceName, 'laptop')
  assert.equal(infoA.network, 'online')
  assert.match(infoA.addresses[0], new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${infoA.peerID}$`))
  assert.match(a.out(), new RegExp(`peer ID: +${infoA.peerID}`), 'the peer ID is logged at start')
  assert.ok(a.out().includes(infoA.addresses[0]), 'listen addresses are logged at start')

  // Pair by invite.
  const invite = await client(dirA, 'pair', 'invite', '--ttl', '5')
  assert.match(invite.uri, /^tandem:\/\/pair\?/)
  assert.ok(invite.expiresAt > Date.now())
  const joined = await client(dirB, 'pair', 'join', invite.uri)
  assert.equal(joined.peerID, infoA.peerID)
  await eventually(async () => {
    const devices = await client(dirA, 'device', 'list')
    return devices.some((d: { peerID: string; online: boolean; name: string }) => d.peerID === infoB.peerID && d.online && d.name === 'desk')
  }, 'A lists B as an online device', 30_000)
  const peers = await client(dirA, 'peers')
  const pb = peers.find((p: { peerID: string }) => p.peerID === infoB.peerID)
  assert.equal(pb.paired, true)
  assert.ok(['lan', 'direct'].includes(pb.connection), `connection ${pb.connection}`)

  // A collection and documents on A, replicated to B.
  await client(dirA, 'collection', 'add', 'type Books { title: String! pages: Int }')
  const { docID } = await client(dirA, 'doc', 'create', 'Books', '{"title": "Dune", "pages": 412}')
  const bulk = await client(dirA, 'doc', 'create', 'Books', '[{"title": "Emma"}, {"title": "Ulysses", "pages": 730}]')
  assert.equal(bulk.docIDs.length, 2)
  const rep = await client(dirA, 'p2p', 'replicator', 'set', '-c', 'Books', infoB.addresses[0], '--wait', '--timeout', '60')
  assert.equal(rep.target, infoB.peerID)
  assert.equal(rep.initialSync.state, 'done')
  await eventually(async () => (await client(dirB, 'doc', 'list', 'Books')).total === 3, 'B has the 3 books', 30_000)
  const all = await client(dirA, 'p2p', 'replicator', 'getall')
  assert.equal(all.length, 1)
  assert.deepEqual(Object.keys(all[0]).filter((k) => ['pending', 'lastAck', 'lastError', 'connected'].includes(k)).sort(), ['connected', 'lastAck', 'lastError', 'pending'])
  const page = await client(dirB, 'doc', 'list', 'Books', '--sort', '-pages', '--limit', '2', '--offset', '0', '--filter', '{"pages": {"_gt": 1}}')
  assert.equal(page.total, 2)
  assert.deepEqual(page.docs.map((d: { fields: { title: string } }) => d.fields.title), ['Ulysses', 'Dune'])

  // B stops; both edit while apart (B with the network off).
  assert.equal(await b.stop(), 0)
  assert.equal(existsSync(join(dirB, 'api.json')), false, 'api.json is removed on a clean stop')
  await clientFails(dirB, 'UNREACHABLE', 'p2p', 'info')
  await client(dirA, 'doc', 'update', 'Books', docID, '{"pages": 500}')
  b = await startDaemon(t, dirB, [], { p2p: false })
  assert.equal((await client(dirB, 'p2p', 'info')).network, 'off')
  await client(dirB, 'doc', 'update', 'Books', docID, '{"title": "Dune Messiah"}')
  const offline = await client(dirB, 'doc', 'create', 'Books', '{"title": "Written offline"}')
  assert.equal(await b.stop(), 0)

  // B back online: both sides converge.
  b = await startDaemon(t, dirB)
  const converged = async (dir: string): Promise<boolean> => {
    const d = await client(dir, 'doc', 'get', 'Books', docID)
    const list = await client(dir, 'doc', 'list', 'Books')
    return d.fields.title === 'Dune Messiah' && d.fields.pages === 500 && list.total === 4
  }
  await eventually(() => converged(dirA), 'A has B\'s offline edits', 45_000)
  await eventually(() => converged(dirB), 'B has A\'s edit', 45_000)
  assert.equal((await client(dirA, 'doc', 'get', 'Books', offline.docID)).fields.title, 'Written offline')
  const history = await client(dirA, 'doc', 'history', 'Books', docID)
  assert.equal(history.length, 3)
  assert.deepEqual(new Set(history.map((h: { device: string }) => h.device)), new Set([infoA.peerID, infoB.peerID]))
  const merge = history.filter((h: { links: string[] }) => h.links.length === 1)
  assert.equal(merge.length, 2, 'both edits link to the genesis: two branches')

  assert.equal(await b.stop(), 0)
  assert.equal(await a.stop(), 0)
  assert.match(a.out(), /stopped cleanly/)
})
