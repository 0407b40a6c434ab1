/**
 * Passive replication over gossipsub. Every change is published on its collection's topic (one
 * topic per collection, not per document: DefraDB's scaling limit) and, for edits of existing
 * documents, on the document's topic, which devices keeping the collection in part follow for the
 * documents they hold that changed or were opened lately (hot documents, a bounded LRU). A device
 * with the whole collection follows its topic and no document's: every edit reaches it there.
 * Topic names derive from the group secret and payloads are sealed with it; messages are accepted
 * only when signed by a group device. A block that arrives without its ancestors makes the
 * receiver fetch them by DAG sync.
 */
import { hash } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import type { GossipSub, GossipsubMessage } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import * as dagCbor from '@ipld/dag-cbor'
import { LRUCache } from 'lru-cache'
import { z } from 'zod'
import type { ChangeEvent, Database } from '../db/database.ts'
import { blockLinks, onlyFirstBlock } from '../db/block.ts'
import { encodeCbor } from '../db/cbor.ts'
import type { CollectionID } from '../../shared/types.ts'
import type { Group } from './group.ts'
import { bytes, collectionID } from './wire.ts'
import { deviceIDOf } from './device-id.ts'
import { reason, silentLogger, type Logger } from './logger.ts'

// A remote commit that changed more documents than this (a resync, a bulk import) does not make
// them hot: following and dropping a topic per document would churn subscriptions for nothing.
const HOT_FROM_REMOTE_MAX_DOCS = 16
// A gossip message carries at most this much; larger changes go in several messages.
const MAX_PAYLOAD_BYTES = 512 * 1024
const Payload = z.object({ v: z.literal(1), c: collectionID, b: z.array(bytes).min(1).max(4096) })

export interface GossipInit {
  db: Database
  pubsub: GossipSub
  group: Group
  /** Hot documents whose topics are subscribed (besides every collection's topic). */
  hotDocuments?: number
  /** Blocks arrived whose ancestors are missing: fetch them from `peers` (best first). */
  onMissing: (peers: PeerId[], missing: string[]) => void
  /** A change reached no peer on its collection's topic (no mesh yet, e.g. right after a rekey). */
  onUndelivered?: () => void
  log?: Logger
}

/**
 * Of gossipsub's implementation, beyond its interface: its score cache, and what it sends a peer on
 * each new stream (`topics` subscribed). tests/net/gossip-introduced.test.ts fails if they go.
 */
interface GossipsubOwn {
  score: { scoreCache: Map<string, unknown> }
  sendSubscriptions(toPeer: string, topics: string[], subscribe: boolean): void
}

export class Gossip {
  readonly #db: Database
  readonly #pubsub: GossipSub
  readonly #group: Group
  readonly #onMissing: GossipInit['onMissing']
  readonly #onUndelivered: () => void
  readonly #log: Logger
  /** Hot documents of collections kept in part: document ID → its topic and collection. */
  readonly #hot: LRUCache<string, { topic: string; collection: CollectionID }>
  /**
   * Payloads taken lately, by hash: an edit goes out as one sealed payload on its collection's
   * topic and on its document's, and a device following both gets it twice. The second is dropped
   * here rather than decoded, checked and applied again (a duplicate still takes the write lock).
   */
  readonly #taken = new LRUCache<string, true>({ max: 1024 })
  readonly #collectionTopics = new Map<string, CollectionID>()
  /** Changes waiting for the next flush, by collection. */
  #queue = new Map<string, { blocks: string[]; docTopics: Set<string> }>()
  #flushing = false
  #inFlight: Promise<void> = Promise.resolve()
  #stopped = false
  readonly #listeners: Array<() => void> = []
  /** Test hook: drop every outgoing gossip message (to prove other paths repair the loss). */
  dropOutgoing = false

  constructor(init: GossipInit) {
    this.#db = init.db
    this.#pubsub = init.pubsub
    this.#group = init.group
    this.#onMissing = init.onMissing
    this.#onUndelivered = init.onUndelivered ?? (() => {})
    this.#log = init.log ?? silentLogger
    this.#hot = new LRUCache<string, { topic: string; collection: CollectionID }>({
      max: init.hotDocuments ?? 128,
      dispose: ({ topic }) => this.#unsubscribe(topic),
    })
  }

  async start(): Promise<void> {
    for (const c of await this.#db.listCollections()) if (c.partial !== true) this.#subscribeCollection(c.id)
    // A collection kept in part follows only its documents' topics (they become hot as they change).
    const onCollection = (info: { id: CollectionID; partial?: boolean }): void => {
      if (info.partial === true) return
      this.#subscribeCollection(info.id)
      // Kept whole now: its topic brings every edit, so its documents' topics are dropped.
      for (const [docID, hot] of this.#hot.entries()) if (hot.collection === info.id) this.#hot.delete(docID)
    }
    const onChange = (ev: ChangeEvent): void => this.#onChange(ev)
    const onMessage = (evt: CustomEvent<GossipsubMessage>): void => { void this.#onMessage(evt.detail) }
    const onSecret = (): void => this.#resubscribe()
    this.#group.on('secret', onSecret)
    this.#db.on('collection', onCollection)
    this.#db.on('change', onChange)
    this.#pubsub.addEventListener('gossipsub:message', onMessage)
    this.#listeners.push(
      () => this.#group.off('secret', onSecret),
      () => this.#db.off('collection', onCollection),
      () => this.#db.off('change', onChange),
      () => this.#pubsub.removeEventListener('gossipsub:message', onMessage),
    )
  }

  /** Stops following topics; waits for a publish in progress (it reads the database). */
  async stop(): Promise<void> {
    this.#stopped = true
    await this.#inFlight
    for (const off of this.#listeners.splice(0)) off()
    this.#hot.clear()
    for (const topic of this.#collectionTopics.keys()) this.#unsubscribe(topic)
    this.#collectionTopics.clear()
  }

  /**
   * `peer` counts this device a member now (it asked for a group exchange, which only members may),
   * or has just become one here: gossipsub's view of each other is set afresh. A device drops every
   * message of a stranger (host.ts: scored under gossipsub's graylist), its subscriptions too, and
   * gossipsub never sends those again; a device introduced by a third one connects before the
   * other has heard of it. Without this the other never learned what it followed (each of its
   * edits reached it only by a nudge, a second later), and dropped its messages for up to a second
   * more (gossipsub caches a score that long). Sending our subscriptions again is harmless where
   * they were taken.
   */
  welcome(peer: string): void {
    const own = this.#pubsub as unknown as Partial<GossipsubOwn>
    own.score?.scoreCache?.delete(peer)
    const topics = this.#pubsub.getTopics()
    if (topics.length > 0 && typeof own.sendSubscriptions === 'function') own.sendSubscriptions.call(this.#pubsub, peer, topics, true)
  }

  /** Topics subscribed now: one per collection kept whole plus one per hot document. */
  topics(): string[] {
    return this.#pubsub.getTopics()
  }

  /**
   * A document the person opened: in a collection kept in part, follow its topic while it stays
   * among the hot ones (a collection kept whole brings it by the collection's topic).
   */
  openDocument(collection: CollectionID, docID: string): void {
    if (this.#db.isPartial(collection)) this.#touch(collection, docID)
  }

  /** Topic names derive from the group secret: when it changes, follow the new names. */
  #resubscribe(): void {
    const collections = [...this.#collectionTopics.values()]
    const hot = [...this.#hot.entries()].reverse()
    for (const topic of this.#collectionTopics.keys()) this.#unsubscribe(topic)
    this.#collectionTopics.clear()
    this.#hot.clear()
    for (const id of collections) this.#subscribeCollection(id)
    for (const [docID, { collection }] of hot) this.#touch(collection, docID)
  }

  #subscribeCollection(id: CollectionID): void {
    const topic = this.#group.secret.collectionTopic(id)
    if (this.#collectionTopics.has(topic)) return
    this.#collectionTopics.set(topic, id)
    this.#subscribe(topic)
  }

  #touch(collection: CollectionID, docID: string): void {
    if (this.#hot.has(docID)) { this.#hot.get(docID); return }
    const topic = this.#group.secret.documentTopic(docID)
    this.#subscribe(topic)
    this.#hot.set(docID, { topic, collection })
  }

  #subscribe(topic: string): void {
    this.#pubsub.topicValidators.set(topic, (peer, msg) => this.#validate(peer, msg))
    this.#pubsub.subscribe(topic)
  }

  #unsubscribe(topic: string): void {
    this.#pubsub.unsubscribe(topic)
    this.#pubsub.topicValidators.delete(topic)
  }

  #validate(_peer: PeerId, msg: GossipsubMessage['msg']): TopicValidatorResult {
    if (msg.type !== 'signed' || !this.#group.has(msg.from.toString())) return TopicValidatorResult.Reject
    const payload = this.#open(msg.data)
    if (payload === null) return TopicValidatorResult.Reject
    // Opened once: the message handler that follows takes it from here instead of opening it again.
    this.#opened.set(msg.data, payload)
    return TopicValidatorResult.Accept
  }

  /** Payloads opened by the validator, by their sealed bytes (the same array reaches the handler). */
  readonly #opened = new WeakMap<Uint8Array, z.infer<typeof Payload>>()

  #open(data: Uint8Array): z.infer<typeof Payload> | null {
    const plain = this.#group.secret.open(data)
    if (plain === null) return null
    try {
      const parsed = Payload.safeParse(dagCbor.decode(plain))
      return parsed.success ? parsed.data : null
    } catch {
      return null
    }
  }

  #onChange(ev: ChangeEvent): void {
    const isEdit = ev.cids.length > 0 && !this.#isGenesisOnly(ev)
    if (ev.origin === 'local') {
      let q = this.#queue.get(ev.collection)
      if (q === undefined) { q = { blocks: [], docTopics: new Set() }; this.#queue.set(ev.collection, q) }
      q.blocks.push(...ev.cids)
      if (isEdit) q.docTopics.add(this.#group.secret.documentTopic(ev.docID))
      if (!this.#flushing) {
        this.#flushing = true
        setImmediate(() => {
          this.#inFlight = this.#flush().catch((err: Error) => this.#log.warn(`publishing failed: ${err.message}`))
        })
      }
    }
    // Following a document's topic, and the mesh messages that go with it, cost more than the rest
    // of an edit on both devices: only a collection kept in part needs it.
    if (isEdit && (ev.origin === 'local' || ev.batchDocs <= HOT_FROM_REMOTE_MAX_DOCS) && this.#db.isPartial(ev.collection)) {
      // A document newly hot is followed after this change is published (and, received, after its
      // event is out): subscribing was on the path of the edit.
      if (this.#hot.has(ev.docID)) this.#hot.get(ev.docID)
      else setImmediate(() => { if (!this.#stopped) this.#touch(ev.collection, ev.docID) })
    }
  }

  #isGenesisOnly(ev: ChangeEvent): boolean {
    return onlyFirstBlock(ev.docID, ev.cids)
  }

  /**
   * Where a change goes: its collection's topic, and the topics of the edited documents that a
   * connected device follows without following the collection (a device that holds only those
   * documents). A device that follows both would get the change twice, each copy signed and checked
   * on its own; with five devices that doubled what every device did per edit.
   */
  #topicsFor(collection: string, docTopics: Set<string>): string[] {
    const topic = this.#group.secret.collectionTopic(collection)
    if (docTopics.size === 0) return [topic]
    const following = new Set(this.#pubsub.getSubscribers(topic).map((p) => p.toString()))
    const only = [...docTopics].filter((t) => this.#pubsub.getSubscribers(t).some((p) => !following.has(p.toString())))
    return [topic, ...only]
  }

  /** Publishes queued changes, batched per collection into messages of at most MAX_PAYLOAD_BYTES. */
  async #flush(): Promise<void> {
    const queue = this.#queue
    this.#queue = new Map()
    this.#flushing = false
    if (this.#stopped || this.dropOutgoing) return
    for (const [collection, { blocks, docTopics }] of queue) {
      const topics = this.#topicsFor(collection, docTopics)
      let batch: Uint8Array[] = []
      let size = 0
      const send = async (): Promise<void> => {
        if (batch.length === 0) return
        const sealed = this.#group.secret.seal(encodeCbor({ v: 1, c: collection, b: batch }))
        batch = []
        size = 0
        for (const [i, topic] of topics.entries()) {
          const result = await this.#pubsub.publish(topic, sealed).catch((err: Error) => {
            this.#log.info(`publish failed: ${err.message}`)
            return { recipients: [] }
          })
          if (i === 0 && result.recipients.length === 0) this.#onUndelivered()
        }
      }
      for (const cid of blocks) {
        if (this.#stopped) return
        const data = await this.#db.getBlock(cid)
        if (data === undefined) continue
        if (size + data.length > MAX_PAYLOAD_BYTES) await send()
        batch.push(data)
        size += data.length
      }
      await send()
    }
  }

  async #onMessage({ propagationSource, msg }: GossipsubMessage): Promise<void> {
    if (this.#stopped || msg.type !== 'signed') return
    if (!this.#collectionTopics.has(msg.topic) && ![...this.#hot.values()].some((h) => h.topic === msg.topic)) return
    const key = hash('sha256', msg.data, 'base64')
    if (this.#taken.has(key)) return
    const payload = this.#opened.get(msg.data) ?? this.#open(msg.data)
    if (payload === null) return
    if (!this.#db.hasCollection(payload.c)) return
    this.#taken.set(key, true)
    try {
      const results = await this.#db.applyBlocks(payload.b.map((b) => ({ bytes: b })), { from: deviceIDOf(msg.from) })
      const parents = new Set<string>()
      for (const [i, r] of results.entries()) {
        if (r.status === 'rejected') this.#log.info(`rejected a block from ${msg.from}: ${r.reason}`)
        if (r.status !== 'pending') continue
        for (const p of blockLinks(payload.b[i]!).parents) parents.add(p)
      }
      const asked = [...parents]
      const here = await this.#db.hasBlocks(asked)
      const missing = new Set(asked.filter((_, i) => !here[i]))
      if (missing.size > 0) {
        const peers = propagationSource.equals(msg.from) ? [propagationSource] : [propagationSource, msg.from]
        this.#onMissing(peers, [...missing])
      }
    } catch (err) {
      this.#taken.delete(key) // the copy on the other topic may still bring it
      this.#log.warn(`applying a message failed: ${reason(err)}`)
    }
  }
}
