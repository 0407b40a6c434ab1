/**
 * The replication protocol: a device pushes a batch of blocks (with the schemas of their
 * collections) to a group device, which imports the schemas, applies the blocks in one atomic
 * commit and only then acks. Acked blocks leave the sender's outbox.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { z } from 'zod'
import type { Database } from '../../db/database.ts'
import type { DeviceID } from '../../../shared/types.ts'
import { attestation, bytes, Channel, cidString, WireError } from '../wire.ts'
import { BATCH_BLOCKS, MAX_INBOUND_STREAMS, MAX_MESSAGE_BYTES, MAX_SCHEMAS, MAX_SDL_BYTES, PROTOCOL, TIMEOUT_MS } from './constants.ts'

const Push = z.object({
  v: z.literal(1),
  schemas: z.array(z.object({ id: cidString, sdl: z.string().max(MAX_SDL_BYTES), partial: z.boolean() })).max(MAX_SCHEMAS),
  blocks: z.array(bytes).max(BATCH_BLOCKS),
  /** The sender's signature over the blocks' CIDs (db/attest.ts): its own blocks need no check each. */
  att: attestation.optional(),
})
const Ack = z.union([
  z.object({ ok: z.literal(true), applied: z.number().int(), duplicate: z.number().int(), pending: z.array(cidString).max(BATCH_BLOCKS), rejected: z.number().int() }),
  z.object({ ok: z.literal(false), error: z.string().max(500) }),
])
export type AckMessage = Extract<z.infer<typeof Ack>, { ok: true }>

export interface ReplicateServerInit {
  db: Database
  host: Libp2p
  isMember: (peer: string) => boolean
  /** Blocks the target received whose ancestors are missing: fetch them (from the sender). */
  onPending: (peer: PeerId, cids: string[]) => void
  log?: (msg: string) => void
}

export class ReplicateServer {
  readonly #init: ReplicateServerInit

  constructor(init: ReplicateServerInit) {
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
    const { db, isMember, log } = this.#init
    const ch = new Channel(stream, { maxMessageBytes: MAX_MESSAGE_BYTES, signal: AbortSignal.timeout(TIMEOUT_MS) })
    const peer = connection.remotePeer.toString()
    try {
      if (!isMember(peer)) {
        await ch.send({ ok: false, error: 'refused: not a device of this group' })
        await ch.close()
        return
      }
      const push = await ch.recv(Push)
      for (const s of push.schemas) {
        try {
          await db.importCollection(s.id, s.sdl, { partial: s.partial })
        } catch (err) {
          log?.(`replicate: collection ${s.id} from ${peer} not imported: ${(err as Error).message}`)
        }
      }
      const results = await db.applyBlocks(push.blocks.map((b) => ({ bytes: b })), { from: peer as DeviceID, attestation: push.att })
      const ack: AckMessage = { ok: true, applied: 0, duplicate: 0, pending: [], rejected: 0 }
      for (const r of results) {
        if (r.status === 'applied') ack.applied++
        else if (r.status === 'duplicate') ack.duplicate++
        else if (r.status === 'pending') ack.pending.push(r.cid!)
        else { ack.rejected++; log?.(`replicate: rejected a block from ${peer}: ${r.reason}`) }
      }
      await ch.send(ack)
      await ch.close()
      if (ack.pending.length > 0) this.#init.onPending(connection.remotePeer, ack.pending)
    } catch (err) {
      log?.(`replicate: serving ${peer} failed: ${(err as Error).message}`)
      ch.abort(err as Error)
    }
  }
}

/** Pushes one batch and waits for the target's ack (sent after its commit). */
export async function push(host: Libp2p, peer: PeerId, schemas: Array<{ id: string; sdl: string; partial: boolean }>, blocks: Uint8Array[], att?: Uint8Array): Promise<AckMessage> {
  const stream = await host.dialProtocol(peer, PROTOCOL, { signal: AbortSignal.timeout(TIMEOUT_MS), runOnLimitedConnection: true })
  const ch = new Channel(stream, { maxMessageBytes: 1024 * 1024, signal: AbortSignal.timeout(TIMEOUT_MS) })
  try {
    await ch.send(att === undefined ? { v: 1, schemas, blocks } : { v: 1, schemas, blocks, att })
    const ack = await ch.recv(Ack)
    await ch.close()
    if (!ack.ok) throw new WireError(`the device refused: ${ack.error}`)
    return ack
  } catch (err) {
    ch.abort(err as Error)
    throw err
  }
}
