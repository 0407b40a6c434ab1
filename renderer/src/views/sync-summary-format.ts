/** Words for the verified sync status (pure: tested in tests/renderer/sync-summary-format.test.ts). */
import type { CollectionSyncStatus, DeviceSyncStatus, SyncStatusReport } from '../../../shared/api/sync-status.ts'

export function agoText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s ago`
  const m = Math.round(s / 60)
  if (m < 60) return `${m} min ago`
  const h = Math.round(m / 60)
  return h < 48 ? `${h} h ago` : `${Math.round(h / 24)} days ago`
}

/** "All 3 devices in sync · verified 4 s ago", "1 of 3 devices in sync · …", "No other devices". */
export function summaryText(r: SyncStatusReport, now: number): { text: string; tone: 'good' | 'warn' | 'muted' } {
  const { devices, inSync, verifiedAt } = r.summary
  const heldCount = r.summary.heldDeletes ?? 0
  const held = heldCount === 0 ? '' : ` · ${heldCount} ${heldCount === 1 ? 'deletion' : 'deletions'} held`
  if (devices === 0) return { text: `No other devices${held}`, tone: heldCount === 0 ? 'muted' : 'warn' }
  const verified = verifiedAt === null ? '' : ` · verified ${agoText(now - verifiedAt)}`
  const noun = devices === 1 ? 'device' : 'devices'
  if (inSync === devices) return { text: `${devices === 1 ? 'The other device' : `All ${devices} devices`} in sync${verified}${held}`, tone: heldCount === 0 ? 'good' : 'warn' }
  return { text: `${inSync} of ${devices} ${noun} in sync${verified}${held}`, tone: 'warn' }
}

export function collectionText(c: CollectionSyncStatus, now: number): string {
  const when = c.checkedAt === null ? '' : ` (checked ${agoText(now - c.checkedAt)})`
  switch (c.state) {
    case 'in-sync': return `in sync${when}`
    case 'differs': return `${c.differingDocs ?? '?'} ${c.differingDocs === 1 ? 'document differs' : 'documents differ'}${when}`
    case 'changed-here': return `changed here since the last check${when}`
    case 'not-there': return `not on that device${when}`
    case 'unchecked': return 'not checked yet'
  }
}

export function deviceText(d: DeviceSyncStatus, now: number): string {
  const where = d.connected ? 'connected' : d.neverConnected ? 'never connected' : d.lastSeen === null ? 'offline' : `last seen ${agoText(now - d.lastSeen)}`
  const outbox = d.outboxPending > 0 ? ` · ${d.outboxPending} pending in outbox` : ''
  return `${d.name}: ${d.inSync ? 'in sync' : 'not in sync'} · ${where}${outbox}`
}
