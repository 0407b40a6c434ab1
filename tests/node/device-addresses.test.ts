import { test } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { startNode, eventually } from '../helpers/nodes.ts'

test('a device that dials us is remembered at its listen addresses, never at its ephemeral source port', async (t) => {
  const a = await startNode(t)
  const b = await startNode(t)
  // A knows B by no address at all; B dials A, so A sees B only on an inbound connection.
  await b.group.setSecret(a.group.secret.bytes)
  await a.group.add({ deviceID: b.deviceID, name: 'b', addrs: [] })
  await b.group.add({ deviceID: a.deviceID, name: 'a', addrs: a.addresses() })
  const bListen = b.addresses().map((s) => multiaddr(s).decapsulateCode(421).toString())
  await b.dial(a.addresses()[0]!)
  const addrs = await eventually(() => {
    const rec = a.group.get(b.deviceID)
    return rec !== undefined && rec.lastSeen !== null && rec.addrs.some((x) => bListen.some((l) => x.startsWith(l))) ? rec.addrs : undefined
  }, 'A to record B\'s listen address')
  const inbound = a.host!.getConnections().filter((c) => c.direction === 'inbound').map((c) => c.remoteAddr.toString())
  assert.ok(inbound.length > 0, 'the connection is inbound on A')
  for (const src of inbound) assert.ok(!addrs.some((x) => x.startsWith(src)), `B's source address ${src} is not kept for redial`)
})
