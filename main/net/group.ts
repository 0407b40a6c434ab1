/**
 * The device group: this person's devices, the only peers that may exchange data with this one.
 * Kept on disk (devices sublevel) with the group secret (meta). Pairing (a later issue) fills it
 * through invites; until then `add`/`remove` are called through the API.
 */
import { EventEmitter } from 'node:events'
import { multiaddr } from '@multiformats/multiaddr'
import { TandemError } from '../../shared/errors.ts'
import type { DeviceID } from '../../shared/types.ts'
import type { Database } from '../db/database.ts'
import { publicKeyOf } from '../db/identity.ts'
import { GroupSecret, SECRET_BYTES } from './group-secret.ts'

export interface DeviceRecord {
  deviceID: DeviceID
  name: string
  /** Last known multiaddrs, redialed at start and after a drop. */
  addrs: string[]
  addedAt: number
  lastSeen: number | null
}

const SECRET_KEY = 'group.secret'
const MAX_ADDRS = 16 // a device rarely has more; bounds what a peer can make us store and dial
const MAX_NAME = 64

interface GroupEvents {
  change: [{ deviceID: DeviceID; removed: boolean }]
  /** The group secret changed (this device joined a group): topics and keys change with it. */
  secret: []
}

export class Group extends EventEmitter<GroupEvents> {
  readonly #db: Database
  readonly #devices = new Map<string, DeviceRecord>()
  #secret: GroupSecret

  private constructor(db: Database, secret: GroupSecret) {
    super()
    this.#db = db
    this.#secret = secret
  }

  static async load(db: Database): Promise<Group> {
    const stored = await db.store.meta.get(SECRET_KEY)
    let secret: GroupSecret
    if (typeof stored === 'string' && Buffer.from(stored, 'base64').length === SECRET_BYTES) {
      secret = new GroupSecret(Buffer.from(stored, 'base64'))
    } else {
      // A device alone is a group of one, with a secret of its own until it joins another.
      secret = GroupSecret.random()
      await db.store.meta.put(SECRET_KEY, Buffer.from(secret.bytes).toString('base64'))
    }
    const group = new Group(db, secret)
    for await (const value of db.store.devices.values()) {
      const d = value as DeviceRecord
      group.#devices.set(d.deviceID, d)
    }
    return group
  }

  get secret(): GroupSecret {
    return this.#secret
  }

  /** Replaces the group secret (when this device joins another device's group). */
  async setSecret(bytes: Uint8Array): Promise<void> {
    const secret = new GroupSecret(bytes)
    await this.#db.store.meta.put(SECRET_KEY, Buffer.from(bytes).toString('base64'))
    this.#secret = secret
    this.emit('secret')
  }

  /** True for this device and for every paired device. */
  has(deviceID: string): boolean {
    return deviceID === this.#db.deviceID || this.#devices.has(deviceID)
  }

  get(deviceID: string): DeviceRecord | undefined {
    return this.#devices.get(deviceID)
  }

  list(): DeviceRecord[] {
    return [...this.#devices.values()].sort((a, b) => a.name.localeCompare(b.name) || (a.deviceID < b.deviceID ? -1 : 1))
  }

  async add(input: { deviceID: string; name?: string; addrs?: string[] }): Promise<DeviceRecord> {
    const deviceID = checkDeviceID(input.deviceID)
    if (deviceID === this.#db.deviceID) throw new TandemError('INVALID_INPUT', 'This is this device itself.')
    const name = (input.name ?? '').trim().slice(0, MAX_NAME) || `device ${deviceID.slice(-6)}`
    const addrs = checkAddrs(input.addrs ?? [])
    const prev = this.#devices.get(deviceID)
    const record: DeviceRecord = {
      deviceID, name, addrs: mergeAddrs(addrs, prev?.addrs ?? []), addedAt: prev?.addedAt ?? Date.now(), lastSeen: prev?.lastSeen ?? null,
    }
    await this.#db.store.devices.put(deviceID, record)
    this.#devices.set(deviceID, record)
    this.emit('change', { deviceID, removed: false })
    return record
  }

  async remove(deviceID: string): Promise<void> {
    if (!this.#devices.has(deviceID)) throw new TandemError('NOT_FOUND', `No device ${deviceID} in this group.`)
    await this.#db.store.devices.del(deviceID)
    this.#devices.delete(deviceID)
    this.emit('change', { deviceID: deviceID as DeviceID, removed: true })
  }

  /** Records that a device was just connected, at these addresses. */
  async seen(deviceID: string, addrs: string[]): Promise<void> {
    const d = this.#devices.get(deviceID)
    if (d === undefined) return
    const record = { ...d, lastSeen: Date.now(), addrs: mergeAddrs(addrs.filter(isDialable), d.addrs) }
    this.#devices.set(deviceID, record)
    await this.#db.store.devices.put(deviceID, record)
  }
}

export function checkDeviceID(id: unknown): DeviceID {
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) throw new TandemError('INVALID_INPUT', 'A device ID is a libp2p peer ID like 12D3KooW….')
  try {
    publicKeyOf(id)
  } catch {
    throw new TandemError('INVALID_INPUT', `"${id.slice(0, 60)}" is not a device ID (an Ed25519 libp2p peer ID like 12D3KooW…).`)
  }
  return id as DeviceID
}

function checkAddrs(addrs: unknown): string[] {
  if (!Array.isArray(addrs)) throw new TandemError('INVALID_INPUT', 'Addresses are a list of multiaddrs.')
  return addrs.map((a) => {
    try {
      return multiaddr(String(a)).toString()
    } catch {
      throw new TandemError('INVALID_INPUT', `"${String(a).slice(0, 80)}" is not a multiaddr (like /ip4/192.168.1.5/tcp/9171).`)
    }
  })
}

function isDialable(addr: string): boolean {
  return !addr.includes('/p2p-circuit') || addr.includes('/p2p/')
}

function mergeAddrs(fresh: string[], old: string[]): string[] {
  return [...new Set([...fresh, ...old])].slice(0, MAX_ADDRS)
}
