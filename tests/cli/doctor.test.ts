/**
 * `tandem client doctor` against two real `tandem start` processes (loopback, no mDNS): JSON with the
 * paired device connected on the LAN path with an rtt; after the other node stops, its refused dial
 * and the offline suggestion; `--no-ping`; a node without the network says so.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'
import { client, startDaemon, tandem } from './cli.ts'
import type { DoctorReport } from '../../shared/api/doctor.ts'

test('tandem client doctor reports the path, then the offline device with its refused dial', { timeout: 90_000 }, async (t) => {
  const root = await tempDir(t)
  const dirA = join(root, 'a')
  const dirB = join(root, 'b')
  await startDaemon(t, dirA, ['--device-name', 'laptop'])
  const b = await startDaemon(t, dirB, ['--device-name', 'desk'])
  const invite = await client(dirA, 'pair', 'invite')
  await client(dirB, 'pair', 'join', invite.uri)
  const up = await eventually(async () => {
    const r = await client<DoctorReport>(dirA, 'doctor')
    const d = r.devices.find((x) => x.name === 'desk')
    return d?.connected === true ? { r, d } : undefined
  }, 'desk connected in the doctor report', 30_000)
  assert.equal(up.d.path, 'lan')
  assert.equal(typeof up.d.rttMs, 'number')
  assert.equal(up.r.self.network, 'online')
  assert.equal(up.r.self.mdns.enabled, false)
  const noPing = await client<DoctorReport>(dirA, 'doctor', '--no-ping')
  assert.equal(noPing.devices.length, 1)

  assert.equal(await b.stop(), 0)
  const off = await eventually(async () => {
    const d = (await client<DoctorReport>(dirA, 'doctor')).devices[0]!
    return !d.connected && d.dials.some((x) => !x.ok) ? d : undefined
  }, 'a failed redial of desk', 30_000)
  assert.equal(off.dials.find((x) => !x.ok)!.kind, 'refused')
  assert.equal(off.suggestions[0]!.code, 'DEVICE_OFFLINE')

  const help = await tandem(['client', 'doctor', '--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /Connectivity doctor/)
})

test('tandem client doctor on a node without the network: NETWORK_OFF', { timeout: 60_000 }, async (t) => {
  const dir = join(await tempDir(t), 'a')
  await startDaemon(t, dir, [], { p2p: false })
  const r = await client<DoctorReport>(dir, 'doctor')
  assert.equal(r.self.network, 'off')
  assert.deepEqual(r.suggestions.map((s) => s.code), ['NETWORK_OFF'])
})
