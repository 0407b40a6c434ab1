/** The STUN responder: RFC 5769 vectors for the encoding, and real Binding requests over UDP on 127.0.0.1. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { bindingSuccess, parseBindingRequest, parseBindingSuccess, StunServer } from '../../main/net/stun-server.ts'
import { eventually } from '../helpers/nodes.ts'

const RFC5769_TXID = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex')

function bindingRequest(txid: Buffer, attrs: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20)
  h.writeUInt16BE(0x0001, 0)
  h.writeUInt16BE(attrs.length, 2)
  h.writeUInt32BE(0x2112a442, 4)
  txid.copy(h, 8)
  return Buffer.concat([h, attrs])
}

test('XOR-MAPPED-ADDRESS is encoded as in RFC 5769 (IPv4 and IPv6)', () => {
  const v4 = bindingSuccess(RFC5769_TXID, '192.0.2.1', 32853)
  assert.equal(v4.subarray(20).toString('hex'), '002000080001a147e112a643')
  const v6 = bindingSuccess(RFC5769_TXID, '2001:db8:1234:5678:11:2233:4455:6677', 32853)
  assert.equal(v6.subarray(20).toString('hex'), '002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9')
  assert.deepEqual(parseBindingSuccess(v4), { transactionId: RFC5769_TXID, address: '192.0.2.1', port: 32853 })
  assert.equal(parseBindingSuccess(v6)?.address, '2001:0db8:1234:5678:0011:2233:4455:6677')
  assert.equal(bindingSuccess(RFC5769_TXID, '::ffff:10.0.0.1', 1).length, 44)
})

test('only well-formed Binding requests are accepted', () => {
  const txid = randomBytes(12)
  assert.deepEqual(Buffer.from(parseBindingRequest(bindingRequest(txid))!), txid)
  // SOFTWARE attribute of 5 bytes, padded to 8: valid.
  const software = Buffer.concat([Buffer.from([0x80, 0x22, 0x00, 0x05]), Buffer.from('tndm\0\0\0\0', 'latin1')])
  assert.notEqual(parseBindingRequest(bindingRequest(txid, software)), null)
  const bad: Array<[string, Buffer]> = [
    ['too short', Buffer.alloc(19)],
    ['wrong cookie', (() => { const b = bindingRequest(txid); b.writeUInt32BE(0xdeadbeef, 4); return b })()],
    ['a response, not a request', (() => { const b = bindingRequest(txid); b.writeUInt16BE(0x0101, 0); return b })()],
    ['top bits set (not STUN)', (() => { const b = bindingRequest(txid); b.writeUInt16BE(0xc001, 0); return b })()],
    ['length disagrees with the packet', (() => { const b = bindingRequest(txid); b.writeUInt16BE(8, 2); return b })()],
    ['attribute runs past the end', bindingRequest(txid, Buffer.from([0x80, 0x22, 0x00, 0x40]))],
    ['too long', bindingRequest(txid, Buffer.alloc(1024))],
  ]
  for (const [why, msg] of bad) assert.equal(parseBindingRequest(msg), null, why)
})

test('a Binding request over UDP gets the sender address and port back; junk gets nothing', { timeout: 15_000 }, async (t) => {
  const server = await StunServer.start({ host: '127.0.0.1', port: 0 })
  t.after(() => server.stop())
  const client = createSocket('udp4')
  t.after(() => client.close())
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', r))
  const replies: Buffer[] = []
  client.on('message', (m) => replies.push(m))

  client.send(Buffer.from('not stun at all, just some bytes'), server.port, '127.0.0.1')
  const txid = randomBytes(12)
  client.send(bindingRequest(txid), server.port, '127.0.0.1')
  await eventually(() => replies.length > 0, 'a STUN reply')
  const reply = parseBindingSuccess(replies[0]!)
  assert.ok(reply !== null, 'a Binding success response')
  assert.deepEqual(Buffer.from(reply.transactionId), txid)
  assert.equal(reply.address, '127.0.0.1')
  assert.equal(reply.port, client.address().port)
  await eventually(() => server.stats().requests === 2, 'both packets counted')
  assert.deepEqual(server.stats(), { requests: 2, answered: 1, dropped: 1 })
  assert.equal(replies.length, 1, 'the junk packet got no reply')
})

test('the STUN port must be free: a second responder on it fails to start', async (t) => {
  const server = await StunServer.start({ host: '127.0.0.1', port: 0 })
  t.after(() => server.stop())
  await assert.rejects(StunServer.start({ host: '127.0.0.1', port: server.port }), /EADDRINUSE/)
  const s = createSocket('udp4')
  s.bind(0, '127.0.0.1')
  await once(s, 'listening')
  s.close()
})
