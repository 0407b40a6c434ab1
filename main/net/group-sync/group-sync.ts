/**
 * Group sync: two group devices tell each other what they know of the group (devices added or
 * removed, the current secret) and merge. The inviter uses it to introduce a new device to the
 * others; a removal travels the same way. A device being removed is told so first (`removed`), and
 * then leaves the group on its side.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { z } from 'zod'
import type { Group, GroupState } from '../group.ts'
import { MAX_ADDRS, MAX_DEVICES } from '../group.ts'
import { SECRET_SIG_BYTES } from '../group-secret.ts'
import { bytes, Channel, WireError } from '../wire.ts'
import { MAX_INBOUND_STREAMS, MAX_MESSAGE_BYTES, PROTOCOL, TIMEOUT_MS } from './constants.ts'

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
})
const Message = z.union([State, z.object({ t: z.literal('removed') }), z.object({ t: z.literal('error'), error: z.string().max(500) })])

export interface GroupSyncInit {
  host: Libp2p
  group: Group
  selfAddrs: () => string[]
  /** A group device just told us its state: it may have news (a change gossip could not deliver). */
  onExchange?: (peer: string) => void
  log?: (msg: string) => void
}

export class GroupSync {
  readonly #init: GroupSyncInit

  constructor(init: GroupSyncInit) {
    this.#init = init
  }

  async start(): Promise<void> {
    await this.#init.host.handle(PROTOCOL, (stream, connection) => this.#serve(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true,
    })
  }

  async stop(): Promise<void> {
    await this.#init.host.unhandle(PROTOCOL)
  }

  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const { group, log } = this.#init
    const ch = new Channel(stream, { maxMessageBytes: MAX_MESSAGE_BYTES, signal: AbortSignal.timeout(TIMEOUT_MS) })
    const peer = connection.remotePeer.toString()
    try {
      if (group.get(peer) === undefined) {
        await ch.send({ t: 'error', error: 'refused: not a device of this group' })
        await ch.close()
        return
      }
      const msg = await ch.recv(Message)
      if (msg.t === 'removed') {
        // The device that paired us says we are out: believe it only from a member, and leave.
        log?.(`removed from the group by ${peer}`)
        await ch.close()
        await group.leave()
        return
      }
      if (msg.t !== 'state') throw new WireError('expected the group state')
      if (group.get(peer) === undefined) throw new WireError('no longer a device of this group')
      await group.merge(msg as unknown as GroupState, peer) // merge checks every device ID itself
      await ch.send({ t: 'state', ...group.state(this.#init.selfAddrs()) })
      await ch.close()
      this.#init.onExchange?.(peer)
    } catch (err) {
      log?.(`group-sync: serving ${peer} failed: ${(err as Error).message}`)
      ch.abort(err as Error)
    }
  }

  /** Exchanges group states with a group device; both merge. */
  async exchange(peer: PeerId): Promise<void> {
    const { host, group } = this.#init
    const stream = await host.dialProtocol(peer, PROTOCOL, { signal: AbortSignal.timeout(TIMEOUT_MS), runOnLimitedConnection: true })
    const ch = new Channel(stream, { maxMessageBytes: MAX_MESSAGE_BYTES, signal: AbortSignal.timeout(TIMEOUT_MS) })
    try {
      await ch.send({ t: 'state', ...group.state(this.#init.selfAddrs()) })
      const answer = await ch.recv(Message)
      if (answer.t === 'error') throw new WireError(`peer answered: ${answer.error}`)
      if (answer.t !== 'state') throw new WireError('expected the group state')
      // What a device says counts only while it is one of ours (we may have left meanwhile).
      if (group.get(peer.toString()) === undefined) throw new WireError('no longer a device of this group')
      await group.merge(answer as unknown as GroupState, peer.toString())
      await ch.close()
    } catch (err) {
      ch.abort(err as Error)
      throw err
    }
  }

  /** Tells a device it was removed (best effort: it may be offline). */
  async tellRemoved(peer: PeerId): Promise<void> {
    const stream = await this.#init.host.dialProtocol(peer, PROTOCOL, { signal: AbortSignal.timeout(5_000), runOnLimitedConnection: true })
    const ch = new Channel(stream, { maxMessageBytes: 1024, signal: AbortSignal.timeout(5_000) })
    await ch.send({ t: 'removed' })
    await ch.close()
  }
}

