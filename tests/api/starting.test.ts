/**
 * The API while the node starts (main/api/starting.ts), over the real WebSocket: served before the
 * node, every call answers NODE_STARTING but `node.status`, which (and the `node:status` event, at
 * most ~4 times a second) follows a store upgrade of the format-4 fixture; then the same server
 * and token answer every call from the upgraded node.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { cp } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TandemNode } from '../../main/node/tandem-node.ts'
import { createApi } from '../../main/api/implementation.ts'
import { startingApi, STATUS_EVERY_MS } from '../../main/api/starting.ts'
import { startApiServer } from '../../main/api/ws-server.ts'
import { ApiClient } from '../../main/api/ws-client.ts'
import { UPGRADES } from '../../main/db/upgrades/index.ts'
import type { UpgradeStep } from '../../main/db/upgrades/step.ts'
import type { NodeStatus } from '../../shared/api/index.ts'
import { tempDir } from '../helpers/tmp.ts'
import { eventually } from '../helpers/nodes.ts'

const FIXTURE = fileURLToPath(new URL('../fixtures/store-v4/', import.meta.url))
const TOKEN = 'test-token-starting-0123456789'

/** ApiClient rejects with the contract's {code, message}. */
const starting_ = (e: unknown, message: RegExp): boolean =>
  (e as { code?: unknown }).code === 'NODE_STARTING' && message.test((e as Error).message)

/** The real steps, each first reporting 0..40 of 40 over ~2 s (the last waiting for `gate` half way). */
function slowSteps(gate: Promise<void>): UpgradeStep[] {
  return UPGRADES.map((step) => ({
    ...step,
    async run(ctx) {
      for (let i = 0; i <= 40; i++) {
        ctx.progress(i, 40)
        if (i === 20 && step === UPGRADES.at(-1)) await gate
        await new Promise((r) => setTimeout(r, 50))
      }
      await step.run(ctx)
    },
  }))
}

test('while the node starts and upgrades, calls answer NODE_STARTING and node.status shows the progress; then the same server answers', async (t: TestContext) => {
  const dataDir = join(await tempDir(t), 'data')
  await cp(FIXTURE, dataDir, { recursive: true })
  const starting = startingApi()
  const server = await startApiServer({ api: starting.api, events: starting.events, host: '127.0.0.1', port: 0, token: TOKEN })
  t.after(() => server.close())
  const client = await ApiClient.connect(server.address, TOKEN)
  t.after(() => client.close())
  const events: Array<{ at: number; status: NodeStatus }> = []
  client.onEvent((event, data) => { if (event === 'node:status') events.push({ at: performance.now(), status: data as NodeStatus }) })
  await client.subscribe()

  assert.deepEqual(await client.call('node.status'), { state: 'starting' })
  await assert.rejects(client.call('collections.list'), (e: unknown) => starting_(e, /starting/))

  let open!: () => void
  const gate = new Promise<void>((r) => { open = r })
  const started = TandemNode.start({ dataDir, p2p: false, upgrades: slowSteps(gate), onUpgradeProgress: starting.upgradeProgress })
  t.after(async () => { open(); await (await started).stop() })

  // Half way (the step waits there): the call reports it, and other calls say so.
  const half = await eventually(async () => {
    const s = await client.call('node.status')
    return s.state === 'upgrading' && s.upgrade?.done === 20 && s.upgrade.step.index === UPGRADES.length ? s : undefined
  }, 'node.status reports the upgrade half way')
  const last = UPGRADES.at(-1)!
  assert.deepEqual(half.upgrade, {
    from: 4, to: last.to, step: { index: UPGRADES.length, of: UPGRADES.length, from: last.from, to: last.to, describe: last.describe }, done: 20, total: 40,
  })
  await assert.rejects(client.call('documents.list', { collection: 'Notes' }),
    (e: unknown) => starting_(e, new RegExp(`upgrading its data directory, step ${UPGRADES.length} of ${UPGRADES.length}, 50 %`)))
  open()

  const node = await started
  starting.ready(node, createApi(node))
  assert.deepEqual(await client.call('node.status'), { state: 'ready' })
  const collections = await client.call('collections.list')
  assert.ok(collections.some((c) => c.name === 'Notes'), 'the upgraded store answers on the same server and token')
  assert.equal((await client.call('node.info')).lastUpgrade?.to, last.to)

  // The event followed: upgrading (with progress), at most every ~250 ms, then ready; and the node's own events follow it.
  await eventually(() => events.at(-1)?.status.state === 'ready', 'a ready event')
  const upgrading = events.filter((e) => e.status.state === 'upgrading')
  assert.ok(upgrading.length >= 3, `several progress events (${upgrading.length})`)
  assert.ok(upgrading.some((e) => e.status.upgrade!.total === 40 && e.status.upgrade!.done > 0))
  for (let i = 1; i < upgrading.length; i++) {
    assert.ok(upgrading[i]!.at - upgrading[i - 1]!.at >= STATUS_EVERY_MS - 30, `progress events ${Math.round(upgrading[i]!.at - upgrading[i - 1]!.at)} ms apart`)
  }
  let created = false
  client.onEvent((event) => { if (event === 'document') created = true })
  await client.call('documents.create', { collection: 'Notes', doc: { text: 'after the upgrade' } })
  await eventually(() => created, 'the node\'s document event, through the same subscription')
})
