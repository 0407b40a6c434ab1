/**
 * Verified sync status: per group device and collection, computed from head exchange (equal head
 * digests at a known time), never guessed. Browser-safe (no node: imports).
 */
import { call, Empty } from './define.ts'
import type { CollectionID, DeviceID } from '../types.ts'

export type CollectionSyncState =
  /** Head digests were equal at `checkedAt` and nothing changed here since. */
  | 'in-sync'
  /** The last check found `differingDocs` documents with other heads there. */
  | 'differs'
  /** In sync when checked, but this device changed the collection since (the next check verifies). */
  | 'changed-here'
  /** The device does not hold this collection. */
  | 'not-there'
  /** Never compared with this device. */
  | 'unchecked'

export interface CollectionSyncStatus {
  collection: CollectionID
  name: string
  state: CollectionSyncState
  /** When the head digests were last compared with this device (ms since epoch), or null. */
  checkedAt: number | null
  /** Documents whose heads differ, from the last check that compared heads (null: not counted). */
  differingDocs: number | null
}

export interface DeviceSyncStatus {
  deviceID: DeviceID
  name: string
  connected: boolean
  /** Last time the device was connected (null: never connected). */
  lastSeen: number | null
  neverConnected: boolean
  /** Changes waiting in the replicator outbox for this device (0 without a replicator). */
  outboxPending: number
  collections: CollectionSyncStatus[]
  /** Every collection in sync with this device. */
  inSync: boolean
}

export interface SyncStatusReport {
  devices: DeviceSyncStatus[]
  summary: {
    devices: number
    inSync: number
    /** The oldest check behind an in-sync device, or null when none is in sync. */
    verifiedAt: number | null
    /**
     * Documents whose deletion by another device the mass-delete guard holds (sync.held): the
     * blocks are here (so in sync), the decision is the person's.
     */
    heldDeletes?: number
    /** Per collection with any: how many documents have conflicting edits (doc list --conflicts). */
    conflicts?: Array<{ collection: CollectionID; name: string; docs: number }>
  }
  /** Anti-entropy period in ms (0: only on connect). */
  antiEntropyMs: number
  /**
   * The last scheduled backup snapshot (tandem start --backup-dir): when, where, how big, or why
   * it failed; null when none was taken. Absent in `sync:status` events (the call has it).
   */
  lastSnapshot?: { at: number; path: string | null; bytes: number; docs: number; error?: string } | null
  at: number
}

export const syncStatusCalls = {
  'sync.status': call<SyncStatusReport>()('Per device and collection: verified in sync (equal head digests, when checked), or what differs.', Empty),
}
