import { test } from 'node:test'
import assert from 'node:assert/strict'
import { collectionText, deviceText, summaryText } from '../../renderer/src/views/sync-summary-format.ts'
import type { SyncStatusReport } from '../../shared/api/sync-status.ts'

const now = 1_000_000
const report = (inSync: number, devices: number, verifiedAt: number | null): SyncStatusReport =>
  ({ devices: [], summary: { devices, inSync, verifiedAt }, antiEntropyMs: 30_000, at: now })

test('summary words', () => {
  assert.deepEqual(summaryText(report(3, 3, now - 4000), now), { text: 'All 3 devices in sync · verified 4 s ago', tone: 'good' })
  assert.equal(summaryText(report(1, 1, now - 61_000), now).text, 'The other device in sync · verified 1 min ago')
  assert.deepEqual(summaryText(report(1, 3, now - 2000), now), { text: '1 of 3 devices in sync · verified 2 s ago', tone: 'warn' })
  assert.equal(summaryText(report(0, 2, null), now).text, '0 of 2 devices in sync')
  assert.equal(summaryText(report(0, 0, null), now).text, 'No other devices')
  const held = { ...report(2, 2, now - 4000), summary: { devices: 2, inSync: 2, verifiedAt: now - 4000, heldDeletes: 30 } }
  assert.deepEqual(summaryText(held, now), { text: 'All 2 devices in sync · verified 4 s ago · 30 deletions held', tone: 'warn' })
})

test('per collection and device words', () => {
  const c = { collection: 'x' as never, name: 'Notes', checkedAt: now - 3000, differingDocs: 5 }
  assert.equal(collectionText({ ...c, state: 'differs' }, now), '5 documents differ (checked 3 s ago)')
  assert.equal(collectionText({ ...c, state: 'in-sync' }, now), 'in sync (checked 3 s ago)')
  assert.equal(collectionText({ ...c, state: 'unchecked', checkedAt: null }, now), 'not checked yet')
  const d = { deviceID: 'p' as never, name: 'phone', connected: false, lastSeen: null, neverConnected: true, outboxPending: 2, collections: [], inSync: false }
  assert.equal(deviceText(d, now), 'phone: not in sync · never connected · 2 pending in outbox')
  assert.equal(deviceText({ ...d, neverConnected: false, lastSeen: now - 7_200_000, outboxPending: 0 }, now), 'phone: not in sync · last seen 2 h ago')
})
