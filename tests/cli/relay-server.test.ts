/** `tandem start --relay-server` with the flags a VPS relay needs: --announce and --stun-port (black-box). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { parseBindingSuccess } from '../../main/net/stun-server.ts'
import { tempDir } from '../helpers/tmp.ts'
import { client, startDaemon, tandem } from './cli.ts'

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4')
  s.bind(0, '127.0.0.1')
  await once(s, 'listening')
  const { port } = s.address()
  s.close()
  return port
}

test('a relay server announces the address it is told and answers STUN on the port it is told', { timeout: 60_000 }, async (t) => {
  const stunPort = await freeUdpPort()
  const dir = await tempDir(t)
  await startDaemon(t, dir, ['--relay-server', '--stun-port', String(stunPort), '--announce', '/ip4/127.0.0.1/tcp/4999'])
  const info = await client(dir, 'p2p', 'info') as { addresses: string[] }
  assert.ok(info.addresses.some((a) => a.startsWith('/ip4/127.0.0.1/tcp/4999/')), `announced address listed: ${info.addresses.join(' ')}`)

  const sock = createSocket('udp4')
  t.after(() => sock.close())
  sock.bind(0, '127.0.0.1')
  await once(sock, 'listening')
  const txid = randomBytes(12)
  const req = Buffer.alloc(20)
  req.writeUInt16BE(0x0001, 0)
  req.writeUInt32BE(0x2112a442, 4)
  txid.copy(req, 8)
  sock.send(req, stunPort, '127.0.0.1')
  const [msg] = await once(sock, 'message') as [Buffer]
  const answer = parseBindingSuccess(msg)
  assert.ok(answer !== null, 'a Binding success')
  assert.deepEqual(Buffer.from(answer.transactionId), txid)
  assert.equal(answer.port, sock.address().port)
})

test('bad relay flags are usage errors (exit 2)', { timeout: 30_000 }, async () => {
  for (const args of [['--stun-port', 'loud'], ['--stun-port', '70000'], ['--stun', 'stun.example.org']]) {
    const r = await tandem(['start', '--no-p2p', ...args])
    assert.equal(r.code, 2, args.join(' '))
    assert.match(r.stderr, /--stun/)
  }
})
