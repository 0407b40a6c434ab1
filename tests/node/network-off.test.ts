/**
 * A node started without the network says so with one code, NETWORK_OFF, whatever is asked of it
 * (invite, dial, sync), so the API and the CLI report it as such rather than as INTERNAL.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TandemNode } from '../../main/node/tandem-node.ts'
import { isTandemError } from '../../shared/errors.ts'
import { tempDir } from '../helpers/tmp.ts'

test('without the network, invite, dial and sync all fail with NETWORK_OFF', async (t) => {
  const node = await TandemNode.start({ dataDir: await tempDir(t), p2p: false })
  t.after(() => node.stop())
  const off = (e: unknown): boolean => isTandemError(e, 'NETWORK_OFF')
  assert.throws(() => node.invite(), off)
  await assert.rejects(node.dial('/ip4/127.0.0.1/tcp/9/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'), off)
  await assert.rejects(node.syncWith('12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'), off)
})
