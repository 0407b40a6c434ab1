/**
 * OrbitDB peer for bench/compare.ts, one workload per process: @orbitdb/core 4 on Helia 7 with persistent
 * LevelBlockstore/LevelDatastore, a `documents` database (one entry per Book, `_id` its index). Both
 * peers of W2–W4 run in this one process.
 *
 *   node bench/peers/orbitdb.ts --workload w1|w2|w3|w4 --n N [--edits E] [--shared S] [--cap SECONDS]
 *
 *   W1 db.put() awaited one at a time (OrbitDB has no batch put; each appends one signed oplog entry),
 *      after an untimed 200-document warm-up.
 *   W2 A holds N documents (untimed). From B dialling A to B's database holding all N (B opens A's
 *      address; counted on its 'update' events, checked with db.all()).
 *   W3 A and B connected with the database open on both, 100 documents replicated, 20 untimed edits;
 *      then E puts one at a time: from db.put() on A to B's 'update' event for the entry put returned.
 *   W4 A and B share S documents; partition = each side's libp2p hangUp() of the other (no discovery,
 *      nothing redials); each side makes E puts, even ones replacing a shared document, odd ones new
 *      documents; from B dialling A again to both logs having the same heads (polled every 50 ms), checked
 *      with the same document count.
 *
 * Loopback only, configured explicitly: Helia "light" (no HTTP gateways, no delegated routing, no
 * trustless-gateway broker; bitswap over libp2p only); libp2p with TCP on /ip4/127.0.0.1/tcp/0 as the
 * only transport and listen address, no peer discovery (no bootstrap, no mDNS), no DHT, no autoNAT,
 * no UPnP, no relay, no websockets/webrtc; B dials A's 127.0.0.1 address directly.
 */
import { join } from 'node:path'
import { createHeliaLight } from 'helia'
import { withLibp2pLight } from '@helia/libp2p'
import { withBitswap } from '@helia/bitswap'
import * as dagCbor from '@ipld/dag-cbor'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@libp2p/gossipsub'
import { LevelBlockstore } from 'blockstore-level'
import { LevelDatastore } from 'datastore-level'
// @ts-expect-error @orbitdb/core ships JavaScript without types
import { createOrbitDB, IPFSAccessController } from '@orbitdb/core'
import { gc, makeDoc, type Doc } from '../common.ts'
import { capMs, edits, freshDir, main, n, orTimeout, pollUntil, timeEdits, shared, sleep } from './child.ts'
import { version } from './version.ts'

interface Peer { helia: any; orbitdb: any; stop: () => Promise<void> }

async function startPeer(): Promise<Peer> {
  const dir = await freshDir('orbit')
  const blockstore = new LevelBlockstore(join(dir, 'blocks'))
  const datastore = new LevelDatastore(join(dir, 'data'))
  await blockstore.open()
  await datastore.open()
  const libp2p = {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'], announce: [] as string[] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: [],
    services: {
      identify: identify(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
    },
  }
  const helia = withBitswap(withLibp2pLight(createHeliaLight({ blockstore, datastore, codecs: [dagCbor] } as any), libp2p as any))
  await helia.start()
  const orbitdb = await createOrbitDB({ ipfs: helia, directory: join(dir, 'orbitdb') })
  return {
    helia,
    orbitdb,
    stop: async () => { await orbitdb.stop(); await helia.stop(); await blockstore.close(); await datastore.close() },
  }
}

function loopbackAddr(p: Peer): unknown {
  const addr = p.helia.libp2p.getMultiaddrs()[0]
  if (!String(addr).startsWith('/ip4/127.0.0.1/')) throw new Error(`OrbitDB: listening on ${addr}, not loopback`)
  return addr
}
const remoteAddrs = (...ps: Peer[]): string[] => ps.flatMap((p) => p.helia.libp2p.getConnections().map((c: any) => String(c.remoteAddr)))

async function w1(): Promise<Record<string, unknown>> {
  const write = async (docs: Doc[], until: number): Promise<{ seconds: number; reached: number }> => {
    const p = await startPeer()
    try {
      const db = await p.orbitdb.open('bench-w1', { type: 'documents' })
      gc()
      const t0 = performance.now()
      let reached = 0
      for (let i = 0; i < docs.length; i++) { await db.put({ _id: String(i), ...docs[i] }); reached++; if (performance.now() > until) break }
      const seconds = (performance.now() - t0) / 1000
      const stored = (await db.all()).length
      if (stored !== reached) throw new Error(`OrbitDB W1: ${stored} documents stored, ${reached} written`)
      await db.close()
      return { seconds, reached }
    } finally {
      await p.stop()
    }
  }
  await write(Array.from({ length: 200 }, (_, i) => makeDoc(i)), Infinity) // untimed warm-up
  const r = await write(Array.from({ length: n }, (_, i) => makeDoc(i)), performance.now() + capMs)
  return { finished: r.reached === n, reached: r.reached, seconds: r.seconds, docsPerSec: r.reached / r.seconds }
}

async function w2(): Promise<Record<string, unknown>> {
  const a = await startPeer()
  const b = await startPeer()
  try {
    const dbA = await a.orbitdb.open('bench-w2', { type: 'documents' })
    // Set-up, untimed but bounded by the same cap: A's N documents.
    const s0 = performance.now()
    for (let i = 0; i < n; i++) {
      await dbA.put({ _id: String(i), ...makeDoc(i) })
      if (performance.now() - s0 > capMs) { await dbA.close(); return { finished: false, reached: 0, note: `set-up: A wrote ${i + 1} of ${n} documents within the cap` } }
    }
    const addr = loopbackAddr(a)
    gc()
    const t0 = performance.now()
    await b.helia.libp2p.dial(addr)
    const dbB = await b.orbitdb.open(dbA.address)
    let reached = 0
    const ok = await pollUntil(async () => { reached = (await dbB.all()).length; return reached >= n }, t0 + capMs, 50)
    const seconds = (performance.now() - t0) / 1000
    const connections = remoteAddrs(a, b)
    await sleep(200) // reads in flight end before close (closing mid-read threw in our runs)
    await dbB.close()
    await dbA.close()
    return { finished: ok, reached, seconds, docsPerSec: reached / seconds, connections }
  } finally {
    await b.stop()
    await a.stop()
  }
}

/** A and B with one database open on both, `docs` documents replicated; both may write (W4 needs it). */
async function pair(docs: number): Promise<{ a: Peer; b: Peer; dbA: any; dbB: any; addr: unknown }> {
  const a = await startPeer()
  const b = await startPeer()
  const dbA = await a.orbitdb.open('bench-pair', { type: 'documents', AccessController: IPFSAccessController({ write: ['*'] }) })
  for (let i = 0; i < docs; i++) await dbA.put({ _id: String(i), ...makeDoc(i) })
  const addr = loopbackAddr(a)
  await b.helia.libp2p.dial(addr)
  const dbB = await b.orbitdb.open(dbA.address)
  if (!await pollUntil(async () => (await dbB.all()).length >= docs, performance.now() + 120_000, 100)) throw new Error(`OrbitDB: B did not get the ${docs} documents`)
  return { a, b, dbA, dbB, addr }
}

async function w3(): Promise<Record<string, unknown>> {
  const { a, b, dbA, dbB } = await pair(100)
  try {
    await sleep(1000) // the gossip mesh forms
    const waiters = new Map<string, () => void>()
    dbB.events.on('update', (entry: any) => { waiters.get(entry.hash)?.() })
    const early = new Set<string>() // an update that arrives before put() returns its hash
    dbB.events.on('update', (entry: any) => { early.add(entry.hash) })
    const edit = async (i: number, until: number): Promise<number | undefined> => {
      const t0 = performance.now()
      const hash: string = await dbA.put({ _id: String(i % 100), ...makeDoc(i) })
      const seen = early.has(hash) ? Promise.resolve() : new Promise<void>((r) => waiters.set(hash, r))
      const ok = await orTimeout(seen.then(() => true), until)
      waiters.delete(hash)
      early.clear()
      return ok === undefined ? undefined : performance.now() - t0
    }
    const result = await timeEdits(edit)
    await sleep(200)
    await dbB.close()
    await dbA.close()
    return { ...result, connections: remoteAddrs(a, b) }
  } finally {
    await b.stop()
    await a.stop()
  }
}

async function w4(): Promise<Record<string, unknown>> {
  const { a, b, dbA, dbB, addr } = await pair(shared)
  try {
    // The partition: both sides hang up; with no discovery and no keep-alive tag nothing redials.
    await b.helia.libp2p.hangUp(a.helia.libp2p.peerId)
    await a.helia.libp2p.hangUp(b.helia.libp2p.peerId)
    if (!await pollUntil(() => a.helia.libp2p.getConnections().length === 0 && b.helia.libp2p.getConnections().length === 0, performance.now() + 15_000)) throw new Error('OrbitDB W4: A and B did not disconnect')
    const e0 = performance.now()
    let made = 0
    const offline = async (db: any, side: string): Promise<void> => {
      for (let i = 0; i < edits; i++) {
        const id = i % 2 === 0 ? String((i >> 1) % shared) : `${side}-${i}`
        await db.put({ _id: id, ...makeDoc(i), title: `${side} edit ${i}` })
        made++
        if (performance.now() - e0 > capMs) return
      }
    }
    await Promise.all([offline(dbA, 'A'), offline(dbB, 'B')])
    const editSeconds = (performance.now() - e0) / 1000
    if (made < 2 * edits) { await sleep(200); await dbB.close(); await dbA.close(); return { finished: false, reached: 0, note: `set-up: ${made} of ${2 * edits} offline edits made within the cap` } }
    const docs = shared + 2 * Math.floor(edits / 2)
    const heads = async (db: any): Promise<string> => (await db.log.heads()).map((e: any) => e.hash).sort().join(',')
    gc()
    const t0 = performance.now()
    await b.helia.libp2p.dial(addr)
    const ok = await pollUntil(async () => (await heads(dbA)) === (await heads(dbB)), t0 + capMs, 50)
    const seconds = (performance.now() - t0) / 1000
    const [ca, cb] = [(await dbA.all()).length, (await dbB.all()).length]
    if (ok && (ca !== docs || cb !== docs)) throw new Error(`OrbitDB W4: ${ca} and ${cb} documents after resync, ${docs} expected`)
    await sleep(200)
    await dbB.close()
    await dbA.close()
    return { finished: ok, reached: Math.min(ca, cb), docs, editsPerSide: edits, shared, seconds, editSeconds }
  } finally {
    await b.stop()
    await a.stop()
  }
}

const versions = Object.fromEntries(['@orbitdb/core', 'helia', 'libp2p', 'blockstore-level', 'datastore-level'].map((p) => [p, version(p)]))
await main('OrbitDB', { w1, w2, w3, w4 }, versions)
