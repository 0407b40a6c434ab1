/**
 * The node's parts as one list (main/node/services.ts): started in order, stopped in reverse; a part
 * that fails to start stops those before it; one that fails to stop does not keep the others
 * running. And the node itself: every part it started is stopped, its group listeners included.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Services } from '../../main/node/services.ts'
import { silentLogger } from '../../main/net/logger.ts'
import { startNode } from '../helpers/nodes.ts'

function part(name: string, calls: string[], fail?: 'start' | 'stop'): { name: string; service: { start: () => Promise<void>; stop: () => Promise<void> } } {
  return {
    name,
    service: {
      start: async () => { calls.push(`start ${name}`); if (fail === 'start') throw new Error(`${name} broke`) },
      stop: async () => { calls.push(`stop ${name}`); if (fail === 'stop') throw new Error(`${name} stuck`) },
    },
  }
}

test('parts start in order and stop in reverse', async () => {
  const calls: string[] = []
  const s = new Services([part('a', calls), part('b', calls), part('c', calls)], silentLogger)
  assert.deepEqual(s.names, ['a', 'b', 'c'])
  await s.start()
  await s.stop()
  assert.deepEqual(calls, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a'])
  await s.stop()
  assert.equal(calls.length, 6, 'a second stop stops nothing again')
})

test('a part that fails to start stops those started before it, and the failure is thrown', async () => {
  const calls: string[] = []
  const s = new Services([part('a', calls), part('b', calls), part('c', calls, 'start'), part('d', calls)], silentLogger)
  await assert.rejects(s.start(), /c broke/)
  assert.deepEqual(calls, ['start a', 'start b', 'start c', 'stop b', 'stop a'])
})

test('a part that fails to stop does not keep the others running', async () => {
  const calls: string[] = []
  const s = new Services([part('a', calls), part('b', calls, 'stop'), part('c', calls)], silentLogger)
  await s.start()
  await assert.rejects(s.stop(), /b stuck/)
  assert.deepEqual(calls.slice(3), ['stop c', 'stop b', 'stop a'])
})

test('a node lists its parts in start order and, stopped, leaves no listener on its group', async (t) => {
  const node = await startNode(t)
  assert.deepEqual(node.services, [
    'database', 'device events', 'host', 'connectivity watch', 'peer list', 'dag-sync', 'head-exchange', 'schema-sync', 'gossip',
    'replicate', 'group-sync', 'pairing', 'nearby', 'replicators', 'redialer', 'links', 'anti-entropy',
  ])
  assert.ok(node.group.listenerCount('change') > 0)
  await node.stop()
  assert.equal(node.group.listenerCount('change'), 0, 'the group change listeners went with the node')
  assert.equal(node.host!.status, 'stopped')
})
