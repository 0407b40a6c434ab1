/**
 * A device group in memory for protocol tests without LevelDB: it implements the narrow group
 * interfaces of group sync (SyncedGroup) and pairing (PairingGroup), records what the protocols
 * did to it, and keeps the rules simple (a device is added once; the higher epoch's secret wins).
 * The real Group's merge rules are tested on their own (tests/net/group-hostile.test.ts).
 */
import { randomBytes } from 'node:crypto'
import type { DeviceRecord, GroupState, PairingGroup } from '../../main/net/group.ts'
import type { SyncedGroup } from '../../main/net/group-sync/group-sync.ts'
import type { DeviceID } from '../../shared/types.ts'

export class MemoryGroup implements SyncedGroup, PairingGroup {
  readonly self: string
  readonly name: string
  epoch = 0
  secret: Uint8Array = randomBytes(32)
  readonly devices = new Map<string, DeviceRecord>()
  /** What merge was given, in order. */
  readonly merged: Array<{ state: GroupState; from: string | undefined }> = []
  /** Calls of leave. */
  left = 0
  /** Thrown by merge and add while set (a storage failure). */
  failWith: Error | null = null

  constructor(self: string, name: string) {
    this.self = self
    this.name = name
  }

  has(deviceID: string): boolean {
    return this.get(deviceID) !== undefined
  }

  get(deviceID: string): DeviceRecord | undefined {
    const d = this.devices.get(deviceID)
    return d?.removedAt === null ? d : undefined
  }

  list(): DeviceRecord[] {
    return [...this.devices.values()].filter((d) => d.removedAt === null)
  }

  async add(input: { deviceID: string; name?: string; addrs?: string[] }, via: DeviceRecord['via'] = 'paired'): Promise<DeviceRecord> {
    if (this.failWith !== null) throw this.failWith
    const record: DeviceRecord = {
      deviceID: input.deviceID as DeviceID, name: input.name ?? '', addrs: input.addrs ?? [], addedAt: Date.now(), removedAt: null, lastSeen: null, via,
    }
    this.devices.set(record.deviceID, record)
    return record
  }

  state(selfAddrs: string[]): GroupState {
    return {
      epoch: this.epoch,
      secret: this.secret,
      devices: [
        { deviceID: this.self as DeviceID, name: this.name, addrs: selfAddrs, addedAt: 0, removedAt: null },
        ...[...this.devices.values()].map(({ deviceID, name, addrs, addedAt, removedAt }) => ({ deviceID, name, addrs, addedAt, removedAt })),
      ],
    }
  }

  async merge(state: GroupState, from?: string): Promise<boolean> {
    if (this.failWith !== null) throw this.failWith
    this.merged.push({ state, from })
    if (from !== undefined && !this.has(from)) return false
    let changed = false
    for (const d of state.devices) {
      if (d.deviceID === this.self || this.devices.has(d.deviceID)) continue
      await this.add(d, 'introducer')
      changed = true
    }
    if (state.epoch > this.epoch) {
      await this.setSecret(state.secret, state.epoch)
      changed = true
    }
    return changed
  }

  async setSecret(bytes: Uint8Array, epoch = this.epoch): Promise<void> {
    this.secret = bytes
    this.epoch = epoch
  }

  async leave(): Promise<void> {
    this.left++
    this.devices.clear()
  }
}
