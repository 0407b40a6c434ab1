/**
 * Verified sync status. Every head exchange this device runs (on connect, by anti-entropy, before a
 * replicator's initial sync) records, per collection, whether the two devices' head digests were
 * equal, when, and what this device's digest was then; for differing collections it counts the
 * documents whose heads differ. `report()` turns those checks into a status per group device and
 * collection: "in sync" only when the digests were equal and nothing changed here since.
 */
import { EventEmitter } from 'node:events'
import type { Database } from '../db/database.ts'
import { BUCKETS, isEmptyCollectionDigest } from '../db/digest.ts'
import type { Group } from '../net/group.ts'
import type { RemoteHeads } from '../net/head-exchange/head-exchange.ts'
import type { CollectionID, DeviceID } from '../../shared/types.ts'
import type { CollectionSyncStatus, DeviceSyncStatus, SyncStatusReport } from '../../shared/api/sync-status.ts'

interface Check {
  equal: boolean
  notThere: boolean
  at: number
  /** Our digest (hex) at the time of the check. */
  local: string
  differingDocs: number | null
}

export interface SyncStatusInit {
  db: Database
  group: Group
  connected: () => DeviceID[]
  outboxPending: (device: DeviceID) => number
  antiEntropyMs: () => number
}

export class SyncStatus extends EventEmitter<{ change: [] }> {
  readonly #init: SyncStatusInit
  readonly #checks = new Map<DeviceID, Map<CollectionID, Check>>()

  constructor(init: SyncStatusInit) {
    super()
    this.#init = init
  }

  /** Records a head exchange with `peer` over `scope`; `local` = our collection digests just before it. */
  async record(peer: DeviceID, scope: readonly CollectionID[], remote: RemoteHeads, local: Map<CollectionID, Uint8Array>, at = Date.now()): Promise<void> {
    let checks = this.#checks.get(peer)
    if (checks === undefined) this.#checks.set(peer, checks = new Map())
    const unknown = new Set(remote.unknown)
    for (const id of scope) {
      const digest = local.get(id)
      if (digest === undefined) continue
      const hex = Buffer.from(digest).toString('hex')
      const diff = remote.differing.get(id)
      if (unknown.has(id)) checks.set(id, { equal: false, notThere: true, at, local: hex, differingDocs: null })
      else if (diff === undefined) checks.set(id, { equal: true, notThere: false, at, local: hex, differingDocs: 0 })
      // Holding none of it when comparing (a new device), every document there differs: counted
      // without matching their heads against the records arriving meanwhile (~160 ms for 100k on
      // a device busy catching up).
      else checks.set(id, { equal: false, notThere: false, at, local: hex, differingDocs: isEmptyCollectionDigest(digest) ? diff.docs.length : await this.#countDiffering(id, diff) })
    }
    this.emit('change')
  }

  /** Documents in the differing buckets whose heads here and there are not the same. */
  async #countDiffering(id: CollectionID, diff: NonNullable<ReturnType<RemoteHeads['differing']['get']>>): Promise<number> {
    // The other device holds none of the collection (a new device): every document here differs.
    // Its live count is at hand; the scan below read every record (1.4 s for 100k documents on a
    // holder while a new device caught up from it). Deleted documents are not in this count.
    if (diff.docs.length === 0 && diff.buckets.length === BUCKETS) return (await this.#init.db.getCollection(id)).count
    const theirs = new Map(diff.docs.map((d) => [d.docID as string, [...d.heads].sort().join(',')]))
    const ours = await this.#init.db.bucketHeads(id, diff.buckets)
    let n = 0
    for (const d of ours) {
      const t = theirs.get(d.docID)
      if (t === undefined || t !== [...d.heads].sort().join(',')) n++
      theirs.delete(d.docID)
    }
    return n + theirs.size
  }

  async report(): Promise<SyncStatusReport> {
    const { db, group } = this.#init
    const collections = (await db.listCollections()).filter((c) => c.partial !== true)
    const digests = await db.collectionDigests()
    const connected = new Set(this.#init.connected())
    const devices: DeviceSyncStatus[] = []
    for (const d of group.list()) {
      if (d.deviceID === db.deviceID || !group.has(d.deviceID)) continue
      const checks = this.#checks.get(d.deviceID)
      const cols: CollectionSyncStatus[] = collections.map((c) => {
        const check = checks?.get(c.id)
        const base = { collection: c.id, name: c.name }
        if (check === undefined) return { ...base, state: 'unchecked', checkedAt: null, differingDocs: null }
        const now = Buffer.from(digests.get(c.id) ?? new Uint8Array()).toString('hex')
        const state = check.notThere ? 'not-there' : !check.equal ? 'differs' : now !== check.local ? 'changed-here' : 'in-sync'
        return { ...base, state, checkedAt: check.at, differingDocs: check.differingDocs }
      })
      const isConnected = connected.has(d.deviceID)
      devices.push({
        deviceID: d.deviceID,
        name: d.name,
        connected: isConnected,
        lastSeen: isConnected ? Date.now() : d.lastSeen,
        neverConnected: !isConnected && d.lastSeen === null && checks === undefined,
        outboxPending: this.#init.outboxPending(d.deviceID),
        collections: cols,
        inSync: cols.every((c) => c.state === 'in-sync'),
      })
    }
    const inSync = devices.filter((d) => d.inSync)
    const times = inSync.flatMap((d) => d.collections.map((c) => c.checkedAt ?? 0))
    return {
      devices,
      summary: {
        devices: devices.length, inSync: inSync.length, verifiedAt: inSync.length === 0 ? null : times.length === 0 ? null : Math.min(...times),
        heldDeletes: this.#init.db.heldBatches().reduce((n, b) => n + b.docs, 0),
      },
      antiEntropyMs: this.#init.antiEntropyMs(),
      at: Date.now(),
    }
  }

  /** Forgets a removed device's checks. */
  forget(peer: DeviceID): void {
    this.#checks.delete(peer)
  }
}
