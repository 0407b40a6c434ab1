/**
 * Joining an invite from a device that has devices already merges two groups: `tandem client pair
 * join URI` refuses it (MERGE_NOT_CONFIRMED, naming both groups, exit 1, nothing changed on any
 * device), and `--merge-groups` does it. Three real `tandem start` processes, CLI only.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'
import { client, clientFails, startDaemon } from './cli.ts'

type Device = { peerID: string; name: string }
const ids = (list: Device[]): string[] => list.map((d) => d.peerID).sort()

test('pair join from a device in a group: refused without --merge-groups, nothing changed; merged with it', { timeout: 120_000 }, async (t) => {
  const root = await tempDir(t)
  const [dirA, dirB, dirC] = ['a', 'b', 'c'].map((d) => join(root, d)) as [string, string, string]
  await Promise.all([
    startDaemon(t, dirA, ['--device-name', 'laptop']),
    startDaemon(t, dirB, ['--device-name', 'desk']),
    startDaemon(t, dirC, ['--device-name', 'stranger-phone']),
  ])
  const [a, b, c] = await Promise.all([dirA, dirB, dirC].map((d) => client<{ peerID: string }>(d, 'p2p', 'info')))
  await client(dirB, 'pair', 'join', (await client(dirA, 'pair', 'invite')).uri)
  await eventually(async () => ids(await client<Device[]>(dirA, 'device', 'list')).includes(b!.peerID), 'A lists B', 30_000)
  const lists = (): Promise<string[][]> => Promise.all([dirA, dirB, dirC].map(async (d) => ids(await client<Device[]>(d, 'device', 'list'))))
  const before = await lists()

  const invite = await client<{ uri: string; id: string }>(dirC, 'pair', 'invite')
  const stderr = await clientFails(dirB, 'MERGE_NOT_CONFIRMED', 'pair', 'join', invite.uri)
  assert.match(stderr, /laptop/, 'names the devices this device has')
  assert.match(stderr, /stranger-phone/, 'names the inviter')
  assert.match(stderr, /--merge-groups/, 'says how to go on')
  assert.deepEqual(await lists(), before, 'no device\'s group changed')

  // The same invite: the refusal did not use it up.
  const joined = await client<Device>(dirB, 'pair', 'join', invite.uri, '--merge-groups')
  assert.equal(joined.peerID, c!.peerID)
  await eventually(async () => (await lists()).every((l, i) => l.length === 2 && !l.includes([a, b, c][i]!.peerID)), 'A, B and C are one group', 30_000)
})
