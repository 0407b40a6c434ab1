/**
 * The device group: this person's devices, the only peers that may exchange data with this one,
 * and the group secret. Kept on disk. Membership merges between devices as a last-writer-wins map
 * (per device: added or removed, whichever is later), and the secret by epoch, so an introduction
 * or a removal made on one device reaches the others through any of them (group-sync protocol).
 *
 * What one member says is bounded (issue 21): no time or epoch it sends may lie further ahead than
 * MAX_CLOCK_AHEAD_MS, nothing it says of its own record changes its membership, and a secret counts
 * only while the device that made it (and signed it) is a member. See merge.
 */
import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import { multiaddr } from '@multiformats/multiaddr'
import { TandemError } from '../../shared/errors.ts'
import type { DeviceID } from '../../shared/types.ts'
import type { DeviceIdentity } from '../db/identity.ts'
import type { Namespace, Setting, StorageTxn } from '../db/namespace.ts'
import { checkDeviceID } from './device-id.ts'
import { checkSecretProof, GroupSecret, SECRET_BYTES, secretMessage, type SecretProof } from './group-secret.ts'

/** Where it was first written; pairing, nearby and the API import it from here. */
export { checkDeviceID } from './device-id.ts'

export interface DeviceRecord {
  deviceID: DeviceID
  name: string
  /** Last known multiaddrs, redialed at start and after a drop. */
  addrs: string[]
  addedAt: number
  /** Set when the device was removed after it was last added: it is no member then. */
  removedAt: number | null
  lastSeen: number | null
  /** How this device learned of it: paired here (invite, nearby, added by hand) or introduced by another device (group sync). */
  via?: 'paired' | 'introducer'
}

/** What devices tell each other about the group. */
export interface GroupState {
  /** A counter, one up at each rekey: the higher epoch's secret wins. */
  epoch: number
  secret: Uint8Array
  /** The device that made this secret, and its signature over (epoch, secret) (group-secret.ts). Absent from older versions: such a secret is not taken. */
  by?: string
  sig?: Uint8Array
  devices: Array<Pick<DeviceRecord, 'deviceID' | 'name' | 'addrs' | 'addedAt' | 'removedAt'>>
}

/**
 * What pairing, by invite or nearby, reads of the group and does to it (Group satisfies it): the
 * side that gives the group adds the new device and sends its state; the other takes the secret
 * and the devices.
 */
export interface PairingGroup {
  /** This device's name, as other devices show it. */
  readonly name: string
  has(deviceID: string): boolean
  get(deviceID: string): DeviceRecord | undefined
  list(): DeviceRecord[]
  add(input: { deviceID: string; name?: string; addrs?: string[] }): Promise<DeviceRecord>
  state(selfAddrs: string[]): GroupState
  setSecret(bytes: Uint8Array, epoch?: number): Promise<void>
  merge(state: GroupState, from?: string): Promise<boolean>
}

/**
 * How far ahead of this device's clock a time in another device's group state may lie: 5 minutes,
 * the clock skew Kerberos tolerates by default. Devices that keep time by NTP agree to well under
 * a second; one that does not may drift by minutes. An `addedAt` further ahead is not taken (until
 * that time comes), a `removedAt` further ahead is taken as a removal made now, and an `epoch`
 * (a counter, far below any time in ms) further ahead is not taken. So a member can date nothing
 * more than 5 minutes ahead, an honest device overtakes such a date by waiting that long, and no
 * value that merging adds one to can get near Number.MAX_SAFE_INTEGER: the bound rises by 1000 a
 * second, a rekey or a removal adds 1.
 */
export const MAX_CLOCK_AHEAD_MS = 5 * 60_000

export const MAX_ADDRS = 16 // a device rarely has more; bounds what a peer can make us store and dial
export const MAX_NAME = 64
/** Records one state carries (and one merge reads): a person's devices, with room to spare. */
export const MAX_DEVICES = 256
/**
 * Records kept at most, removed ones included: beyond it a merge learns of no new device (pairing
 * here still adds one). Introductions are not signed, so a member could otherwise make this device
 * store made-up devices without end.
 */
export const MAX_STORED_DEVICES = 1024

/** What the group keeps in the database and signs with (Database satisfies it). */
export interface GroupStore {
  readonly deviceID: DeviceID
  /** Signs the group secrets this device makes (SecretProof). */
  readonly identity: Pick<DeviceIdentity, 'sign'>
  namespace<T>(name: string): Namespace<T>
  setting<T>(key: string): Setting<T>
  transact(stage: (tx: StorageTxn) => void): Promise<void>
}

/** Where the group lives in the database: its devices, and a few settings (base64 for bytes). */
interface GroupStorage {
  devices: Namespace<DeviceRecord>
  secret: Setting<string>
  epoch: Setting<number>
  /** Who made the current secret and its signature (base64): see SecretProof. */
  secretBy: Setting<string>
  secretSig: Setting<string>
  name: Setting<string>
}

function storageOf(db: GroupStore): GroupStorage {
  return {
    devices: db.namespace<DeviceRecord>('devices'),
    secret: db.setting<string>('group.secret'),
    epoch: db.setting<number>('group.epoch'),
    secretBy: db.setting<string>('group.secretBy'),
    secretSig: db.setting<string>('group.secretSig'),
    name: db.setting<string>('device.name'),
  }
}

interface GroupEvents {
  change: [{ deviceID: DeviceID; removed: boolean }]
  /** The group secret changed (joined a group, or a device was removed): topics and keys change with it. */
  secret: []
}

export class Group extends EventEmitter<GroupEvents> {
  readonly #db: GroupStore
  readonly #storage: GroupStorage
  readonly #devices = new Map<string, DeviceRecord>()
  #secret: GroupSecret
  #epoch: number
  #proof: SecretProof
  #name: string
  #lock: Promise<unknown> = Promise.resolve()

  private constructor(db: GroupStore, storage: GroupStorage, secret: GroupSecret, epoch: number, proof: SecretProof, name: string) {
    super()
    this.#db = db
    this.#storage = storage
    this.#secret = secret
    this.#epoch = epoch
    this.#proof = proof
    this.#name = name
  }

  static async load(db: GroupStore, deviceName?: string): Promise<Group> {
    const storage = storageOf(db)
    const stored = await storage.secret.get()
    let secret: GroupSecret
    if (typeof stored === 'string' && Buffer.from(stored, 'base64').length === SECRET_BYTES) {
      secret = new GroupSecret(Buffer.from(stored, 'base64'))
    } else {
      // A device alone is a group of one, with a secret of its own until it joins another.
      secret = GroupSecret.random()
      await storage.secret.put(Buffer.from(secret.bytes).toString('base64'))
    }
    const epoch = (await storage.epoch.get()) ?? 0
    let name = await storage.name.get()
    if (deviceName !== undefined && deviceName.trim() !== '') {
      name = cleanName(deviceName)
      await storage.name.put(name)
    }
    const by = await storage.secretBy.get()
    const sig = await storage.secretSig.get()
    let proof: SecretProof = { by: String(by), sig: typeof sig === 'string' ? Buffer.from(sig, 'base64') : new Uint8Array(0) }
    if (!checkSecretProof(epoch, secret.bytes, proof)) {
      // A secret kept by an older version (or a first start): this device vouches for it.
      proof = await makeProof(db, epoch, secret.bytes)
      const made = proof
      await db.transact((tx) => stageProof(tx, storage, made))
    }
    const group = new Group(db, storage, secret, epoch, proof, name ?? cleanName(hostname()))
    for await (const d of storage.devices.values()) group.#devices.set(d.deviceID, { ...d, removedAt: d.removedAt ?? null })
    return group
  }

  get secret(): GroupSecret {
    return this.#secret
  }

  get epoch(): number {
    return this.#epoch
  }

  /** This device's name, as other devices show it. */
  get name(): string {
    return this.#name
  }

  async setName(name: string): Promise<void> {
    this.#name = cleanName(name)
    await this.#storage.name.put(this.#name)
  }

  /**
   * Adopts a group secret (when this device joins a group, or the group rekeys). Without `proof`
   * this device signs it as its maker: a join adopts the inviter's secret, and vouches for it. An
   * epoch further ahead than MAX_CLOCK_AHEAD_MS (an inviter's answer) is taken as that bound.
   */
  async setSecret(bytes: Uint8Array, epoch = this.#epoch, proof?: SecretProof): Promise<void> {
    const secret = new GroupSecret(bytes)
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new TandemError('INVALID_INPUT', `A group epoch is a whole number from 0 to Number.MAX_SAFE_INTEGER, not ${epoch}.`)
    if (proof === undefined) {
      epoch = Math.min(epoch, Date.now() + MAX_CLOCK_AHEAD_MS)
      proof = await makeProof(this.#db, epoch, bytes)
    }
    const made = proof
    await this.#db.transact((tx) => {
      tx.set(this.#storage.secret, Buffer.from(bytes).toString('base64'))
      tx.set(this.#storage.epoch, epoch)
      stageProof(tx, this.#storage, made)
    })
    this.#secret = secret
    this.#epoch = epoch
    this.#proof = proof
    this.emit('secret')
  }

  /** A fresh secret with a higher epoch: after a removal, so the removed device can read nothing new. */
  async rekey(): Promise<void> {
    await this.setSecret(GroupSecret.random().bytes, safeNext(this.#epoch, 'The group epoch'))
  }

  /** Changes to membership run one at a time, so a merge cannot interleave with a leave. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn)
    this.#lock = run.catch(() => {}) // the caller hears how `run` ended; the next change only waits for it
    return run
  }

  /** True for this device and for every paired device. */
  has(deviceID: string): boolean {
    if (deviceID === this.#db.deviceID) return true
    const d = this.#devices.get(deviceID)
    return d !== undefined && d.removedAt === null
  }

  /** True for a device that was a member once and has been removed since. */
  wasMember(deviceID: string): boolean {
    const d = this.#devices.get(deviceID)
    return d !== undefined && d.removedAt !== null
  }

  /**
   * Whether a block written by `author` and delivered by `from` may be accepted ("former member"
   * trust). A member's blocks always. A removed device's blocks only when a current member (not the
   * author itself) delivers them: a member holds a device's blocks only if it accepted them while it
   * still counted that device as a member, so what it serves is history written before the
   * removal. The removed device itself can deliver nothing (it is no member), so whatever it writes
   * after the removal is refused by every member that knows of the removal. The one window left is
   * the removal's own spread: a member that has not heard of it yet may still take new blocks from
   * the removed device, and then serve them. Group sync spreads a removal on every connect.
   */
  trustsBlock(author: string, from: string | undefined): boolean {
    if (this.has(author)) return true
    return from !== undefined && from !== author && from !== this.#db.deviceID && this.has(from) && this.wasMember(author)
  }

  get(deviceID: string): DeviceRecord | undefined {
    const d = this.#devices.get(deviceID)
    return d !== undefined && d.removedAt === null ? d : undefined
  }

  /** The paired devices (not this one, not removed ones). */
  list(): DeviceRecord[] {
    return [...this.#devices.values()].filter((d) => d.removedAt === null)
      .sort((a, b) => a.name.localeCompare(b.name) || (a.deviceID < b.deviceID ? -1 : 1))
  }

  async add(input: { deviceID: string; name?: string; addrs?: string[] }): Promise<DeviceRecord> {
    return this.#exclusive(() => this.#add(input))
  }

  async #add(input: { deviceID: string; name?: string; addrs?: string[] }): Promise<DeviceRecord> {
    const deviceID = checkDeviceID(input.deviceID)
    if (deviceID === this.#db.deviceID) throw new TandemError('INVALID_INPUT', 'This is this device itself.')
    const prev = this.#devices.get(deviceID)
    const record: DeviceRecord = {
      deviceID,
      name: cleanName(input.name ?? '') || prev?.name || `device ${deviceID.slice(-6)}`,
      addrs: mergeAddrs(checkAddrs(input.addrs ?? []), prev?.addrs ?? []),
      addedAt: safeNext(Math.max(Date.now() - 1, prev?.removedAt ?? 0, prev?.addedAt ?? 0), `The time ${deviceID} was added`),
      removedAt: null,
      lastSeen: prev?.lastSeen ?? null,
      via: 'paired',
    }
    await this.#put(record)
    this.emit('change', { deviceID, removed: false })
    return record
  }

  /** Forgets a device: from now on it is refused. The removal travels to the other devices. */
  async remove(deviceID: DeviceID): Promise<void> {
    return this.#exclusive(() => this.#remove(deviceID))
  }

  async #remove(deviceID: DeviceID): Promise<void> {
    const prev = this.get(deviceID)
    if (prev === undefined) throw new TandemError('NOT_FOUND', `No device ${deviceID} in this group.`)
    await this.#put({ ...prev, removedAt: safeNext(Math.max(Date.now() - 1, prev.addedAt), `The time ${deviceID} was removed`) })
    this.emit('change', { deviceID, removed: true })
  }

  /** Leaves the group: a group of one again, with a fresh secret (when this device was removed). */
  async leave(): Promise<void> {
    return this.#exclusive(() => this.#leave())
  }

  async #leave(): Promise<void> {
    const ids = [...this.#devices.values()].map((d) => d.deviceID)
    // The new secret first: once the group looks empty, nothing of the old one is in use.
    await this.setSecret(GroupSecret.random().bytes, 0)
    await this.#db.transact((tx) => { for (const id of ids) tx.del(this.#storage.devices, id) })
    this.#devices.clear()
    for (const deviceID of ids) this.emit('change', { deviceID, removed: true })
  }

  /** Records that a device was just connected, at these addresses. */
  async seen(deviceID: DeviceID, addrs: string[]): Promise<void> {
    await this.#exclusive(async () => {
      const d = this.get(deviceID)
      if (d === undefined) return
      await this.#put({ ...d, lastSeen: Date.now(), addrs: mergeAddrs(addrs.filter(isDialable), d.addrs) })
    })
  }

  /** The group as this device tells it to others (itself included, with its addresses). */
  state(selfAddrs: string[]): GroupState {
    // Itself first, then removals newest first, then members: when there are more records than
    // one state carries, what gets cut is the oldest news, never this device or a recent removal.
    const others = [...this.#devices.values()].sort((a, b) =>
      (a.removedAt === null ? 1 : 0) - (b.removedAt === null ? 1 : 0) ||
      (b.removedAt ?? 0) - (a.removedAt ?? 0) || b.addedAt - a.addedAt)
    const devices: GroupState['devices'] = [
      { deviceID: this.#db.deviceID, name: this.#name, addrs: selfAddrs.slice(0, MAX_ADDRS), addedAt: 0, removedAt: null },
      ...others.map(({ deviceID, name, addrs, addedAt, removedAt }) => ({ deviceID, name, addrs, addedAt, removedAt })),
    ]
    return { epoch: this.#epoch, secret: this.#secret.bytes, by: this.#proof.by, sig: this.#proof.sig, devices: devices.slice(0, MAX_DEVICES) }
  }

  /**
   * Merges what another device says of the group: per device the later of added/removed wins, the
   * secret with the higher epoch wins. Returns true when anything changed here. With `from`, the
   * state counts only if `from` is still a device of the group when the merge runs.
   *
   * What a merge takes is bounded, so that one member's message can neither stop later removals
   * and rekeys nor outlive its own removal (issue 21):
   * - Times: an `addedAt` more than MAX_CLOCK_AHEAD_MS ahead of this device's clock is not taken;
   *   a `removedAt` that far ahead counts as a removal made now.
   * - What `from` says of its own record changes only its addresses (and a placeholder name): it
   *   cannot re-add itself, date its addition later so that a removal loses, or remove itself.
   * - The secret: taken only when signed by its maker and its maker is a member (or this device),
   *   with an epoch no further ahead than the time bound (epochs are counters, far below it, so a
   *   device that missed any number of rekeys catches up in one exchange). When the current
   *   secret's maker is no member any more (it was removed: it knows that secret) and the state
   *   brings no better one, this device rekeys at once.
   */
  async merge(state: GroupState, from?: string): Promise<boolean> {
    return this.#exclusive(() => this.#merge(state, from))
  }

  async #merge(state: GroupState, from: string | undefined): Promise<boolean> {
    if (from !== undefined && this.get(from) === undefined) return false
    const now = Date.now()
    const limit = now + MAX_CLOCK_AHEAD_MS
    let changed = false
    for (const d of state.devices.slice(0, MAX_DEVICES)) {
      if (d.deviceID === this.#db.deviceID) continue
      let deviceID: DeviceID
      try { deviceID = checkDeviceID(d.deviceID) } catch { continue }
      const prev = this.#devices.get(deviceID)
      const addrs = mergeAddrs(safeAddrs(d.addrs), prev?.addrs ?? [])
      if (deviceID === from) {
        // A device's word on itself: where it listens and what it is called, never its membership.
        if (prev === undefined) continue
        const next: DeviceRecord = { ...prev, addrs }
        if (prev.name.startsWith('device ') && cleanName(d.name) !== '') next.name = cleanName(d.name)
        if (JSON.stringify(next) !== JSON.stringify(prev)) await this.#put(next)
        continue
      }
      if (!Number.isSafeInteger(d.addedAt) || d.addedAt < 0 || d.addedAt > limit) continue // added "in the future": not yet
      let theirRemoved = d.removedAt
      if (theirRemoved !== null && (!Number.isSafeInteger(theirRemoved) || theirRemoved > limit)) {
        // Removed "in the future": a removal, made now (after every addition either side knows).
        theirRemoved = Math.max(now, Math.max(prev?.addedAt ?? 0, d.addedAt) + 1)
        if (!Number.isSafeInteger(theirRemoved)) continue
      }
      if (prev === undefined) {
        if (this.#devices.size >= MAX_STORED_DEVICES) continue
        if (theirRemoved !== null && theirRemoved >= d.addedAt) {
          // Never knew it, and it is gone: remember it as a former member, whose history (written
          // while it was one) members may still bring here (see trustsBlock).
          await this.#put({ deviceID, name: cleanName(d.name) || `device ${deviceID.slice(-6)}`, addrs: [], addedAt: d.addedAt, removedAt: theirRemoved, lastSeen: null })
          continue
        }
        await this.#put({ deviceID, name: cleanName(d.name) || `device ${deviceID.slice(-6)}`, addrs, addedAt: d.addedAt, removedAt: null, lastSeen: null, via: 'introducer' })
        this.emit('change', { deviceID, removed: false })
        changed = true
        continue
      }
      const ourRemoved = prev.removedAt ?? 0
      const addedAt = Math.max(prev.addedAt, d.addedAt)
      const removedAt = Math.max(ourRemoved, theirRemoved ?? 0)
      const next: DeviceRecord = { ...prev, addrs, addedAt, removedAt: removedAt > addedAt ? removedAt : null }
      if (prev.name.startsWith('device ') && cleanName(d.name) !== '') next.name = cleanName(d.name)
      const wasMember = prev.removedAt === null
      const isMember = next.removedAt === null
      if (JSON.stringify(next) !== JSON.stringify(prev)) {
        await this.#put(next)
        if (wasMember !== isMember) { this.emit('change', { deviceID, removed: !isMember }); changed = true }
      }
    }
    const theirs = { by: state.by, sig: state.sig }
    const better = state.secret instanceof Uint8Array && state.secret.length === SECRET_BYTES &&
      Number.isSafeInteger(state.epoch) && state.epoch >= 0 && state.epoch <= limit &&
      (state.epoch > this.#epoch || (state.epoch === this.#epoch && Buffer.compare(state.secret, this.#secret.bytes) > 0))
    if (better && typeof theirs.by === 'string' && this.has(theirs.by) && checkSecretProof(state.epoch, state.secret, theirs)) {
      await this.setSecret(state.secret, state.epoch, theirs as SecretProof)
      changed = true
    } else if (!this.has(this.#proof.by)) {
      // Our secret's maker was removed, and nothing better came: make a new one (higher, so it
      // replaces that secret on every device still holding it).
      await this.rekey()
      changed = true
    }
    return changed
  }

  async #put(record: DeviceRecord): Promise<void> {
    await this.#storage.devices.put(record.deviceID, record)
    this.#devices.set(record.deviceID, record)
  }
}

/** `n + 1`, refused when that is no longer a safe integer (a value left by an older version that took anything a member sent). */
function safeNext(n: number, what: string): number {
  if (!Number.isSafeInteger(n + 1)) {
    throw new TandemError('INTERNAL', `${what} would pass Number.MAX_SAFE_INTEGER (it is ${n}, set by a device of the group before this version bounded what it takes). Leave the group and pair again.`)
  }
  return n + 1
}

async function makeProof(db: GroupStore, epoch: number, secret: Uint8Array): Promise<SecretProof> {
  return { by: db.deviceID, sig: await db.identity.sign(secretMessage(epoch, secret)) }
}

function stageProof(tx: StorageTxn, storage: GroupStorage, proof: SecretProof): void {
  tx.set(storage.secretBy, proof.by)
  tx.set(storage.secretSig, Buffer.from(proof.sig).toString('base64'))
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

function safeAddrs(addrs: unknown): string[] {
  try { return checkAddrs(Array.isArray(addrs) ? addrs.slice(0, MAX_ADDRS) : []) } catch { return [] }
}

function cleanName(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, MAX_NAME)
}

function isDialable(addr: string): boolean {
  return !addr.includes('/p2p-circuit') || addr.includes('/p2p/')
}

function mergeAddrs(fresh: string[], old: string[]): string[] {
  return [...new Set([...fresh, ...old])].slice(0, MAX_ADDRS)
}
