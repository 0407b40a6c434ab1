/**
 * Nearby pairing through `tandem client` only, between two real `tandem start` processes on
 * loopback (mDNS off: B dials A at start with --peers): refused until A runs `pair open`; A lists
 * the request with the name B claims and no code; a malformed or wrong code pairs nothing; the code
 * B printed pairs them.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'
import { client, clientFails, startDaemon, tandem } from './cli.ts'

test('pair nearby by CLI: refused until pair open, the code typed with pair accept --code, a wrong one pairs nothing', { timeout: 120_000 }, async (t) => {
  const root = await tempDir(t)
  const [dirA, dirB] = [join(root, 'a'), join(root, 'b')]
  await startDaemon(t, dirA, ['--device-name', 'laptop'])
  const infoA = await client(dirA, 'p2p', 'info')
  await startDaemon(t, dirB, ['--device-name', 'phone', '--peers', infoA.addresses[0]])
  const infoB = await client(dirB, 'p2p', 'info')
  await eventually(async () => (await client(dirA, 'peers')).some((p: { peerID: string }) => p.peerID === infoB.peerID), 'B connected to A', 30_000)

  const refused = await clientFails(dirB, 'PAIRING_CLOSED', 'pair', 'nearby', infoA.peerID)
  assert.match(refused, /is not accepting pairing requests now: open Pair nearby on it .*tandem client pair open/)

  const opened = await client(dirA, 'pair', 'open')
  assert.equal(opened.open, true)
  assert.ok(opened.until > Date.now() + 170_000 && opened.until <= Date.now() + 180_000, 'open for 3 minutes')
  const { requestId, code } = await client(dirB, 'pair', 'nearby', infoA.peerID)
  assert.match(code, /^\d{6}$/)
  const [incoming] = await client(dirA, 'pair', 'requests')
  assert.deepEqual({ ...incoming, expiresAt: 0 }, { id: requestId, peerID: infoB.peerID, claimedName: 'phone', direction: 'incoming', triesLeft: 3, expiresAt: 0 })
  const [outgoing] = await client(dirB, 'pair', 'requests')
  assert.equal(outgoing.code, code, 'the requester lists the code to show')

  const usage = await tandem(['client', '--data-dir', dirA, 'pair', 'accept', requestId])
  assert.equal(usage.code, 2, usage.stderr)
  assert.match(usage.stderr, /--code/)
  await clientFails(dirA, 'INVALID_INPUT', 'pair', 'accept', requestId, '--code', '12345')
  const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0')
  assert.match(await clientFails(dirA, 'PAIRING_WRONG_CODE', 'pair', 'accept', requestId, '--code', wrong), /Wrong code: 2 tries left/)
  assert.deepEqual(await client(dirA, 'device', 'list'), [], 'a wrong code pairs nothing')

  assert.equal(await client(dirA, 'pair', 'accept', requestId, '--code', `${code.slice(0, 3)} ${code.slice(3)}`), null)
  await eventually(async () => (await client(dirB, 'device', 'list')).some((d: { peerID: string }) => d.peerID === infoA.peerID), 'B lists A as a device')
  assert.deepEqual((await client(dirA, 'device', 'list')).map((d: { peerID: string; name: string }) => [d.peerID, d.name]), [[infoB.peerID, 'phone']])
  assert.deepEqual(await client(dirA, 'pair', 'close'), { open: false, until: null }, 'closed after the pairing already')
})
