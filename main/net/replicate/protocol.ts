/**
 * The replication protocol: a device pushes a batch of blocks (with the schemas of their
 * collections and their later schema versions) to a group device, which imports the schemas and
 * versions, applies the blocks in one atomic commit and only then acks. Acked blocks leave the sender's outbox.
 */
import type { PeerId } from '@libp2p/interface'
import { z } from 'zod'
import type { ApplyResult, DeviceID } from '../../../shared/types.ts'
import { deviceIDOf } from '../device-id.ts'
import { reason, silentLogger, type Logger } from '../logger.ts'
import { attestation, bytes, type Channel, cidString, peerError, peerErrorMessage } from '../wire.ts'
import { ProtocolService, request, type Dialer, type ProtocolHost } from '../protocol-service.ts'
import { BATCH_BLOCKS, MAX_INBOUND_STREAMS, MAX_MESSAGE_BYTES, MAX_SCHEMAS, MAX_SDL_BYTES, MAX_VERSIONS, PROTOCOL, TIMEOUT_MS } from './constants.ts'

const Push = z.object({
  v: z.literal(1),
  schemas: z.array(z.object({ id: cidString, sdl: z.string().max(MAX_SDL_BYTES), partial: z.boolean() })).max(MAX_SCHEMAS),
  blocks: z.array(bytes).max(BATCH_BLOCKS),
  /** Schema versions of those collections (db/versions.ts), each checked by the database; older senders send none. */
  versions: z.array(z.unknown()).max(MAX_VERSIONS).optional(),
  /** The sender's signature over the blocks' CIDs (db/attest.ts): its own blocks need no check each. */
  att: attestation.optional(),
})
const Ack = z.union([
  z.object({ ok: z.literal(true), applied: z.number().int(), duplicate: z.number().int(), pending: z.array(cidString).max(BATCH_BLOCKS), rejected: z.number().int() }),
  peerErrorMessage,
])
export type AckMessage = Exclude<z.infer<typeof Ack>, z.infer<typeof peerErrorMessage>>
/** The ack reader needs little room: a count per status and at most a batch of pending CIDs. */
const MAX_ACK_BYTES = 1024 * 1024

/** What the replication target writes to the database (Database satisfies it). */
export interface ReplicaStore {
  /** Imports a collection's schema under its ID; throws when the SDL does not hash to it. */
  importCollection(id: string, sdl: string, options: { partial?: boolean }): Promise<boolean>
  /** Learns schema versions (each checked; unknown collections and bad ones left out). */
  importVersions(versions: unknown[], from?: DeviceID): Promise<number>
  /** Checks and applies blocks from `from` in one atomic commit. */
  applyBlocks(entries: Array<{ bytes: Uint8Array }>, options: { from?: DeviceID; attestation?: Uint8Array }): Promise<ApplyResult[]>
}

export interface ReplicateServerComponents {
  host: ProtocolHost
  db: ReplicaStore
}

export interface ReplicateServerInit {
  isMember: (peer: string) => boolean
  /** Blocks the target received whose ancestors are missing: fetch them (from the sender). */
  onPending: (peer: PeerId, cids: string[]) => void
  log?: Logger
}

export class ReplicateServer {
  readonly #db: ReplicaStore
  readonly #init: ReplicateServerInit
  readonly #service: ProtocolService

  constructor(components: ReplicateServerComponents, init: ReplicateServerInit) {
    this.#db = components.db
    this.#init = init
    this.#service = new ProtocolService(components.host, {
      protocol: PROTOCOL, name: 'replicate', maxInboundStreams: MAX_INBOUND_STREAMS, maxMessageBytes: MAX_MESSAGE_BYTES, timeoutMs: TIMEOUT_MS,
      isMember: init.isMember, log: init.log,
    }, (ch, peer) => this.#serve(ch, peer))
  }

  async start(): Promise<void> {
    await this.#service.start()
  }

  async stop(): Promise<void> {
    await this.#service.stop()
  }

  async #serve(ch: Channel, peer: PeerId): Promise<void> {
    const log = this.#init.log ?? silentLogger
    const from = deviceIDOf(peer)
    const push = await ch.recv(Push)
    for (const s of push.schemas) {
      try {
        await this.#db.importCollection(s.id, s.sdl, { partial: s.partial })
      } catch (err) {
        log.info(`collection ${s.id} from ${from} not imported: ${reason(err)}`)
      }
    }
    // Versions before blocks, so blocks written under them apply now rather than wait for them.
    if (push.versions !== undefined && push.versions.length > 0) await this.#db.importVersions(push.versions, from)
    // A failure to commit (not a rejected block) throws: the sender gets the error frame, keeps the
    // batch in its outbox and pushes it again.
    const results = await this.#db.applyBlocks(push.blocks.map((b) => ({ bytes: b })), { from, attestation: push.att })
    const ack: AckMessage = { ok: true, applied: 0, duplicate: 0, pending: [], rejected: 0 }
    for (const r of results) {
      if (r.status === 'applied') ack.applied++
      else if (r.status === 'duplicate') ack.duplicate++
      else if (r.status === 'pending') ack.pending.push(r.cid!)
      else { ack.rejected++; log.info(`rejected a block from ${from}: ${r.reason}`) }
    }
    await ch.send(ack)
    if (ack.pending.length > 0) this.#init.onPending(peer, ack.pending)
  }
}

/** Pushes one batch and waits for the target's ack (sent after its commit). */
export async function push(host: Dialer, peer: PeerId, schemas: Array<{ id: string; sdl: string; partial: boolean }>, blocks: Uint8Array[], att?: Uint8Array, versions: unknown[] = []): Promise<AckMessage> {
  return request(host, peer, PROTOCOL, { maxMessageBytes: MAX_ACK_BYTES, timeoutMs: TIMEOUT_MS }, async (ch) => {
    const message: Record<string, unknown> = { v: 1, schemas, blocks }
    if (att !== undefined) message.att = att
    if (versions.length > 0) message.versions = versions.slice(-MAX_VERSIONS)
    await ch.send(message)
    const ack = await ch.recv(Ack)
    if ('error' in ack) throw peerError(ack, 'the device answered', 'UNAUTHORIZED')
    return ack
  })
}
