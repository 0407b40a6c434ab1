/** Everything the node pushes to subscribers, by event name. */
import type { CollectionID, CollectionInfo, DeviceID, DocID, BlockCID, SchemaConflict } from '../types.ts'
import type { SyncStatusReport } from './sync-status.ts'
import type { HeldBatchInfo } from './held.ts'
import type { NodeStatus } from './node.ts'
import type { BackupProgressEvent } from './backup.ts'
import type { NearbyDevice, NodeInfo, PairingMode, PairingOutcome, PairingRequest, ReplicatorInfo, SyncReport } from './types.ts'

export interface ApiEvents {
  /** A document changed here (`local`) or by sync (`remote`). Bulk writes send one event per document. */
  'document': {
    collection: CollectionID
    docID: DocID
    cids: BlockCID[]
    origin: 'local' | 'remote'
    deleted: boolean
    /** Documents changed by the same commit: a window may refresh once for a large batch. */
    batchDocs: number
    /** The document's conflicting edits appeared, or all cleared, with this change. */
    conflicts?: 'appeared' | 'cleared'
  }
  /** A collection was defined, or got a new schema version (here, or from another device). */
  'collection': CollectionInfo
  /** Concurrent schema versions disagree on a field's type: which one won (see README, Schema versions). */
  'schema:conflict': { collection: CollectionID; name: string; conflicts: SchemaConflict[] }
  'peer:connect': { peerID: DeviceID }
  'peer:disconnect': { peerID: DeviceID }
  /** A device joined, was renamed or removed from the group. */
  'device': { peerID: DeviceID; removed: boolean }
  /** The node is starting, upgrading (progress at most ~4 times a second) or, finally, ready: as `node.status`. */
  'node:status': NodeStatus
  /** This node's state changed (paused/resumed, renamed). */
  'node': NodeInfo
  /** A replicator's state changed: pending, connection, last ack/error, initial sync progress. */
  'replicator': ReplicatorInfo
  /** A head exchange + DAG sync with a device finished. */
  'sync': SyncReport
  'sync:error': { peer: DeviceID; error: string }
  /** The verified sync status changed (a head exchange checked a device, a device came or went). */
  'sync:status': SyncStatusReport
  /** Deletions held by the mass-delete guard changed (held, grown, released, rejected); carries every batch. */
  'sync:held': { batches: HeldBatchInfo[] }
  /** The nearby list changed; carries the whole list. */
  'nearby': NearbyDevice[]
  /** A request opened: incoming (another device asks; no code here, the person types the one it shows) or outgoing (with the code to show). */
  'pairing:request': PairingRequest
  'pairing:resolved': { id: string; outcome: PairingOutcome }
  /** A pending request changed (a wrong code: fewer tries left). */
  'pairing:changed': PairingRequest
  /** "Pair nearby" opened or closed on this device. */
  'pairing:mode': PairingMode
  /** A backup export or import is under way (about every 1,000 documents or 1 MB). */
  'backup:progress': BackupProgressEvent
}

export type EventName = keyof ApiEvents
export const EVENT_NAMES = [
  'document', 'collection', 'schema:conflict', 'peer:connect', 'peer:disconnect', 'device', 'node:status', 'node', 'replicator',
  'sync', 'sync:error', 'sync:status', 'sync:held', 'nearby', 'pairing:request', 'pairing:resolved',
  'pairing:changed', 'pairing:mode', 'backup:progress',
] as const satisfies readonly EventName[]

// Compile-time check that EVENT_NAMES lists every event.
type Missing = Exclude<EventName, (typeof EVENT_NAMES)[number]>
const _everyEvent: Missing extends never ? true : never = true
void _everyEvent
