/**
 * The node's own events → the contract's events, for any transport. `bridgeEvents` returns a
 * function that detaches every listener it added (call it when the transport closes).
 */
import { withConflictCounts } from './handlers/documents.ts'
import type { ApiEvents, EventName } from '../../shared/api/index.ts'
import type { TandemNode } from '../node/tandem-node.ts'
import type { ApiImplementation } from './implementation.ts'
import { heldList } from './handlers/held.ts'
import { reason } from '../net/logger.ts'

/** Sync-status events are coalesced to one report per this long (a sync changes several devices' rows at once). */
const STATUS_COALESCE_MS = 200

export type EventSink = <E extends EventName>(event: E, data: ApiEvents[E]) => void

export function bridgeEvents(node: TandemNode, api: ApiImplementation, sink: EventSink): () => void {
  const offs: Array<() => void> = []
  const on = <T extends unknown[]>(emitter: { on(e: string, l: (...a: T) => void): unknown; off(e: string, l: (...a: T) => void): unknown }, event: string, listener: (...a: T) => void): void => {
    emitter.on(event, listener)
    offs.push(() => { emitter.off(event, listener) })
  }
  on(node.db, 'change', (c: ApiEvents['document']) => sink('document', {
    collection: c.collection, docID: c.docID, cids: c.cids, origin: c.origin, deleted: c.deleted, batchDocs: c.batchDocs,
    ...(c.conflicts !== undefined ? { conflicts: c.conflicts } : {}),
  }))
  on(node.db, 'collection', (c: ApiEvents['collection']) => sink('collection', c))
  on(node.db, 'schema-conflict', (c: ApiEvents['schema:conflict']) => sink('schema:conflict', c))
  on(node.db, 'held', () => sink('sync:held', { batches: heldList(node) }))
  on(node, 'peer:connect', (p: ApiEvents['peer:connect']['peerID']) => sink('peer:connect', { peerID: p }))
  on(node, 'peer:disconnect', (p: ApiEvents['peer:disconnect']['peerID']) => sink('peer:disconnect', { peerID: p }))
  on(node, 'device', (d: { deviceID: ApiEvents['device']['peerID']; removed: boolean }) => sink('device', { peerID: d.deviceID, removed: d.removed }))
  on(node, 'nearby', () => sink('nearby', node.nearby()))
  on(node, 'pairing:request', (r: ApiEvents['pairing:request']) => sink('pairing:request', r))
  on(node, 'pairing:resolved', (r: ApiEvents['pairing:resolved']) => sink('pairing:resolved', r))
  on(node, 'pairing:changed', (r: ApiEvents['pairing:changed']) => sink('pairing:changed', r))
  on(node, 'pairing:mode', (m: ApiEvents['pairing:mode']) => sink('pairing:mode', m))
  on(node, 'replicator', (r: ApiEvents['replicator']) => sink('replicator', r))
  on(node, 'sync', (r: ApiEvents['sync']) => sink('sync', r))
  on(node, 'sync:error', (e: ApiEvents['sync:error']) => sink('sync:error', e))
  // Sync status: after each check, and when a device comes or goes; coalesced to one report per 200 ms.
  let statusTimer: NodeJS.Timeout | null = null
  const log = node.log.forComponent('api')
  const statusSoon = (): void => {
    if (statusTimer !== null) return
    statusTimer = setTimeout(() => {
      statusTimer = null
      // The next change sends a fresh report; `sync.status` reads it on demand meanwhile.
      void node.syncStatusReport().then((r) => withConflictCounts(node, r)).then((r) => sink('sync:status', r))
        .catch((err: unknown) => log.debug(`no sync status event: ${reason(err)}`))
    }, STATUS_COALESCE_MS)
  }
  on(node.syncStatus, 'change', statusSoon)
  on(node.db, 'held', statusSoon) // the summary counts held deletions
  on(node, 'peer:connect', statusSoon)
  on(node, 'peer:disconnect', statusSoon)
  offs.push(() => { if (statusTimer !== null) clearTimeout(statusTimer) })
  offs.push(api.onEvent(sink))
  return () => { for (const off of offs.splice(0)) off() }
}
