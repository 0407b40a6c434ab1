/** Relay slots are kept: a node starts while its relay is down, and gets a slot once the relay is up (again). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TandemNode } from '../../main/node/tandem-node.ts'
import type { RelayKeeper } from '../../main/net/relays.ts'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'
import { tempDir } from '../helpers/tmp.ts'

const keeper = (n: TandemNode): RelayKeeper => n.host!.services.relayKeeper as RelayKeeper
const circuitAddrs = (n: TandemNode): string[] => n.addresses().filter((a) => a.includes('/p2p-circuit'))

test('a device starts while its relay is down, and holds a slot once the relay comes back', { timeout: 60_000 }, async (t) => {
  const relayDir = await tempDir(t)
  // A first run fixes the relay's port and peer ID (both kept across its restart).
  let relay = await startNode(t, { dataDir: relayDir, relayServer: true, network: { stunPort: 0 } })
  const relayAddr = relay.addresses().find((a) => a.includes('/tcp/'))!
  const port = relayAddr.split('/')[4]!
  await relay.stop()

  const device = await startNode(t, { listen: [], relays: [relayAddr], network: { webrtc: false } })
  assert.deepEqual(keeper(device).status().map((s) => [s.connected, s.reserved]), [[false, false]])
  assert.equal(circuitAddrs(device).length, 0)

  relay = await startNode(t, { dataDir: relayDir, relayServer: true, listen: [`/ip4/127.0.0.1/tcp/${port}`], network: { stunPort: 0 } })
  await formGroup([relay, device])
  await eventually(() => circuitAddrs(device).length > 0, 'a slot on the restarted relay', 30_000)
  const [s] = keeper(device).status()
  assert.equal(s!.connected, true)
  assert.equal(s!.reserved, true)
  assert.ok(s!.reservedAt !== null)
  assert.ok(circuitAddrs(device)[0]!.startsWith(relayAddr))
})

test('offline and back: the slot is dropped while paused and taken again at once on resume', { timeout: 60_000 }, async (t) => {
  const relay = await startNode(t, { relayServer: true, network: { stunPort: 0 } })
  const relayAddr = relay.addresses().find((a) => a.includes('/tcp/'))!
  const device = await startNode(t, { listen: [], relays: [relayAddr], network: { webrtc: false } })
  await formGroup([relay, device])
  await eventually(() => circuitAddrs(device).length > 0, 'a slot')
  await device.pause()
  await eventually(() => !keeper(device).status()[0]!.connected, 'disconnected from the relay while offline')
  // Redials fail while offline, so the keeper's backoff grows; resume must not wait for it.
  await new Promise((r) => setTimeout(r, 3_000))
  const back = Date.now()
  device.resume()
  await eventually(() => keeper(device).status()[0]!.reserved, 'the slot again after resume', 10_000)
  t.diagnostic(`slot back ${Date.now() - back} ms after resume`)
  assert.ok(Date.now() - back < 4_000, 'resume did not wait for the redial backoff')
})
