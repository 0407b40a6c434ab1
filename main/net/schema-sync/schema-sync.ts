/**
 * Schema sync (`/tandem/schema/1.0.0`): two group devices converge the schema versions of their
 * collections (db/versions.ts). The asker names, per collection, the version IDs it holds, and any
 * version IDs blocks here wait for; the answerer returns the versions of those collections the
 * asker lacks (and of the collections of the wanted IDs), with its own version IDs; the asker then
 * sends the versions the answerer lacks. One round trip and a half, both sides learn.
 *
 * It runs before every head exchange (on connect and each anti-entropy period), to every connected
 * device right after a local `collection update`, and to the device that delivered a block written
 * under a version this device does not know (gossip, DAG sync, a replication push): such a block
 * waits in the pending set until the version comes, and is never dropped.
 */
import type { PeerId } from '@libp2p/interface'
import { z } from 'zod'
import type { CollectionID, DeviceID, VersionID } from '../../../shared/types.ts'
import { type Channel, cidString, collectionID, peerError, peerErrorMessage } from '../wire.ts'
import { deviceIDOf } from '../device-id.ts'
import { ProtocolService, type ProtocolHost } from '../protocol-service.ts'
import { silentLogger, type Logger } from '../logger.ts'
import { MAX_COLLECTIONS, MAX_IDS, MAX_INBOUND_STREAMS, MAX_MESSAGE_BYTES, MAX_SENT, MAX_WANT, PROTOCOL, TIMEOUT_MS } from './constants.ts'

const Have = z.array(z.object({ c: collectionID, ids: z.array(cidString).max(MAX_IDS) })).max(MAX_COLLECTIONS)
const Ask = z.object({ v: z.literal(1), have: Have, want: z.array(cidString).max(MAX_WANT) })
// Versions are checked one by one by the database (versionFromWire); here only their number.
const Answer = z.union([z.object({ versions: z.array(z.unknown()).max(MAX_SENT), have: Have }), peerErrorMessage])
const Push = z.object({ versions: z.array(z.unknown()).max(MAX_SENT) })

/** What schema sync reads and writes of the database (Database satisfies it). */
export interface SchemaStore {
  versionIDs(): Map<CollectionID, VersionID[]>
  /** Every version of a collection known here (records as sent). */
  schemaVersions(collection: string): unknown[]
  /** The collection of a version known here. */
  versionCollection(version: string): CollectionID | undefined
  importVersions(versions: unknown[], from?: DeviceID): Promise<number>
}

export interface SchemaSyncComponents {
  host: ProtocolHost
  db: SchemaStore
}

export interface SchemaSyncInit {
  isMember: (peer: string) => boolean
  log?: Logger
}

export interface SchemaSyncReport {
  /** Versions learned from the peer, and sent to it. */
  learned: number
  sent: number
}

export class SchemaSync {
  readonly #db: SchemaStore
  readonly #service: ProtocolService

  constructor(components: SchemaSyncComponents, init: SchemaSyncInit) {
    this.#db = components.db
    this.#service = new ProtocolService(components.host, {
      protocol: PROTOCOL, name: 'schema-sync', maxInboundStreams: MAX_INBOUND_STREAMS, maxMessageBytes: MAX_MESSAGE_BYTES, timeoutMs: TIMEOUT_MS,
      isMember: init.isMember, log: init.log ?? silentLogger,
    }, (ch, peer) => this.#serve(ch, peer))
  }

  async start(): Promise<void> {
    await this.#service.start()
  }

  async stop(): Promise<void> {
    await this.#service.stop()
  }

  async #serve(ch: Channel, peer: PeerId): Promise<void> {
    const { have, want } = await ch.recv(Ask)
    const theirs = new Map(have.map((h) => [h.c, new Set(h.ids)]))
    const mine = this.#db.versionIDs()
    const collections = new Set<CollectionID>(have.map((h) => h.c))
    for (const id of want) { const c = this.#db.versionCollection(id); if (c !== undefined) collections.add(c) }
    const versions: unknown[] = []
    const answerHave: Array<{ c: string; ids: string[] }> = []
    for (const c of collections) {
      const ids = mine.get(c)
      if (ids === undefined) continue
      const known = theirs.get(c) ?? new Set<string>()
      for (const v of this.#db.schemaVersions(c)) if (!known.has((v as { id: string }).id)) versions.push(v)
      if (theirs.has(c)) answerHave.push({ c, ids: ids.slice(0, MAX_IDS) })
    }
    await ch.send({ versions: versions.slice(0, MAX_SENT), have: answerHave })
    const push = await ch.recv(Push)
    if (push.versions.length > 0) await this.#db.importVersions(push.versions, deviceIDOf(peer))
  }

  /**
   * Converges the versions of `collections` (default: every one here) with `peer`, and learns the
   * versions `want` names (blocks here wait for them).
   */
  async exchange(peer: PeerId, collections?: readonly CollectionID[], want: readonly VersionID[] = []): Promise<SchemaSyncReport> {
    const mine = this.#db.versionIDs()
    const ids = (collections ?? [...mine.keys()]).filter((c) => mine.has(c)).slice(0, MAX_COLLECTIONS)
    const have = ids.map((c) => ({ c, ids: mine.get(c)!.slice(0, MAX_IDS) }))
    return this.#service.request(peer, async (ch) => {
      await ch.send({ v: 1, have, want: want.slice(0, MAX_WANT) })
      const answer = await ch.recv(Answer)
      if ('error' in answer) throw peerError(answer, 'peer answered', 'INTERNAL')
      const learned = answer.versions.length > 0 ? await this.#db.importVersions(answer.versions, deviceIDOf(peer)) : 0
      // What the peer lacks: our versions of the collections it named (after what we just learned).
      const send: unknown[] = []
      for (const { c, ids: theirs } of answer.have) {
        if (!ids.includes(c)) continue
        const known = new Set(theirs)
        for (const v of this.#db.schemaVersions(c)) if (!known.has((v as { id: string }).id)) send.push(v)
      }
      await ch.send({ versions: send.slice(0, MAX_SENT) })
      return { learned, sent: Math.min(send.length, MAX_SENT) }
    })
  }
}
