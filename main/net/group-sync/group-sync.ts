/**
 * Group sync: two group devices tell each other what they know of the group (devices added or
 * removed, the current secret) and merge. The inviter uses it to introduce a new device to the
 * others; a removal travels the same way. A device being removed is told so first (`removed`), and
 * then leaves the group on its side.
 */
import type { PeerId } from '@libp2p/interface'
import { z } from 'zod'
import type { DeviceRecord, GroupState } from '../group.ts'
import { MAX_ADDRS, MAX_DEVICES } from '../group.ts'
import { SECRET_SIG_BYTES } from '../group-secret.ts'
import { bytes, type Channel, peerError, peerErrorMessage, WireError } from '../wire.ts'
import { ProtocolService, type ProtocolHost } from '../protocol-service.ts'
import { MAX_INBOUND_STREAMS, MAX_MESSAGE_BYTES, PROTOCOL, REMOVED_MESSAGE_BYTES, REMOVED_TIMEOUT_MS, TIMEOUT_MS } from './constants.ts'

const Device = z.object({
  deviceID: z.string().max(128),
  name: z.string().max(256),
  addrs: z.array(z.string().max(512)).max(MAX_ADDRS),
  addedAt: z.number().int().min(0),
  removedAt: z.number().int().min(0).nullable(),
})
// Any safe integer passes here; Group.merge bounds what it takes (times, epoch, who made the secret).
const State = z.object({
  t: z.literal('state'), epoch: z.number().int().min(0), secret: bytes,
  by: z.string().max(128).optional(), sig: bytes.refine((b) => b.length === SECRET_SIG_BYTES, 'a 64-byte signature').optional(), // the secret's maker and its signature (SecretProof)
  devices: z.array(Device).max(MAX_DEVICES + 1),
  // Whether the sender asks the receiver to pull its data now (a nudge: a change gossip could not
  // deliver). Absent from devices of earlier versions, which meant yes; a receiver of an earlier
  // version ignores it and pulls after every exchange, as it always did.
  pull: z.boolean().optional(),
})
const Message = z.union([State, z.object({ t: z.literal('removed') }), peerErrorMessage])

/** What group sync reads of the group and does to it (Group satisfies it). */
export interface SyncedGroup {
  /** A device of the group (undefined: not one, or removed). */
  get(deviceID: string): DeviceRecord | undefined
  /** What this device tells the others, with its own addresses. */
  state(selfAddrs: string[]): GroupState
  /** Takes what a member (`from`) says of the group; it checks every device ID itself. */
  merge(state: GroupState, from?: string): Promise<boolean>
  /** This device was removed: it forgets the group. */
  leave(): Promise<void>
}

export interface GroupSyncComponents {
  host: ProtocolHost
  group: SyncedGroup
}

export interface GroupSyncInit {
  selfAddrs: () => string[]
  /**
   * A group device just told us its state and asked us to pull (it may have news gossip could not
   * deliver), or its state brought a new group secret (gossip under the old one may have been lost).
   */
  onExchange?: (peer: string) => void
  /** A group device asked for an exchange, and was answered: it counts this device a member. */
  onServed?: (peer: string) => void
  log?: (msg: string) => void
}

export class GroupSync {
  readonly #group: SyncedGroup
  readonly #init: GroupSyncInit
  readonly #log: (msg: string) => void
  readonly #service: ProtocolService

  constructor(components: GroupSyncComponents, init: GroupSyncInit) {
    this.#group = components.group
    this.#init = init
    this.#log = init.log ?? (() => {})
    this.#service = new ProtocolService(components.host, {
      protocol: PROTOCOL, name: 'group-sync', maxInboundStreams: MAX_INBOUND_STREAMS, maxMessageBytes: MAX_MESSAGE_BYTES, timeoutMs: TIMEOUT_MS,
      isMember: (peer) => this.#group.get(peer) !== undefined, log: this.#log,
    }, (ch, peer) => this.#serve(ch, peer.toString()))
  }

  async start(): Promise<void> {
    await this.#service.start()
  }

  async stop(): Promise<void> {
    await this.#service.stop()
  }

  async #serve(ch: Channel, peer: string): Promise<void> {
    const group = this.#group
    const msg = await ch.recv(Message)
    if (msg.t === 'removed') {
      // The device that paired us says we are out: believe it only from a member, and leave.
      this.#log(`removed from the group by ${peer}`)
      await ch.close()
      await group.leave()
      return
    }
    if (msg.t !== 'state') throw new WireError('expected the group state')
    if (group.get(peer) === undefined) throw new WireError('no longer a device of this group')
    const before = group.state([])
    const secretBefore = Uint8Array.from(before.secret)
    await group.merge(msg as unknown as GroupState, peer) // merge checks every device ID itself
    const after = group.state(this.#init.selfAddrs())
    await ch.send({ t: 'state', ...after })
    await ch.close()
    this.#init.onServed?.(peer)
    const rekeyed = after.epoch !== before.epoch || Buffer.compare(after.secret, secretBefore) !== 0
    if (msg.pull !== false || rekeyed) this.#init.onExchange?.(peer)
  }

  /**
   * Exchanges group states with a group device; both merge. `pull`: whether the other device is
   * asked to pull this one's data right after (default yes). On connect both devices pull anyway,
   * and a change of members alone changes no data: those exchanges ask no pull.
   */
  async exchange(peer: PeerId, options: { pull?: boolean } = {}): Promise<void> {
    const group = this.#group
    await this.#service.request(peer, async (ch) => {
      await ch.send({ t: 'state', ...group.state(this.#init.selfAddrs()), pull: options.pull ?? true })
      const answer = await ch.recv(Message)
      if ('error' in answer) throw peerError(answer, 'peer answered', 'UNAUTHORIZED')
      if (answer.t !== 'state') throw new WireError('expected the group state')
      // What a device says counts only while it is one of ours (we may have left meanwhile).
      if (group.get(peer.toString()) === undefined) throw new WireError('no longer a device of this group')
      await group.merge(answer as unknown as GroupState, peer.toString())
    })
  }

  /** Tells a device it was removed (best effort: it may be offline). */
  async tellRemoved(peer: PeerId): Promise<void> {
    await this.#service.request(peer, (ch) => ch.send({ t: 'removed' }), { maxMessageBytes: REMOVED_MESSAGE_BYTES, timeoutMs: REMOVED_TIMEOUT_MS })
  }
}
