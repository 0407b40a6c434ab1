/**
 * OrbitDB peer for bench/compare.ts: W1 local writes and W2 replication A→B of N documents.
 *
 *   node bench/peers/orbitdb.ts --n N     prints one JSON line: { system, n, w1, w2, versions }
 *
 * @orbitdb/core 4 on Helia 7 with persistent LevelBlockstore/LevelDatastore, a `documents` database
 * (one entry per Book, `_id` = the document's index). Both peers of W2 run in this one process.
 *   W1: from the first db.put() to the N-th resolving, awaited one at a time (OrbitDB has no batch put;
 *       each put appends one signed entry to the oplog).
 *   W2: A holds N documents (untimed). From B dialling A to B's database holding all N (B opens A's
 *       address, then its 'update' events are counted and db.all() is checked).
 *
 * Loopback only, configured explicitly: Helia "light" (no HTTP gateways, no delegated routing, no
 * trustless-gateway broker; bitswap over libp2p only); libp2p with TCP on /ip4/127.0.0.1/tcp/0 as the
 * only transport and listen address, no peer discovery (no bootstrap, no mDNS), no DHT, no autoNAT,
 * no UPnP, no relay, no websockets/webrtc; B dials A's 127.0.0.1 address directly.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
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
import { createOrbitDB } from '@orbitdb/core'
import { gc, makeDoc, type Doc } from '../common.ts'
import { version } from './version.ts'

const n = Number(parseArgs({ options: { n: { type: 'string', default: '1000' } } }).values.n)
const dirs: string[] = []
const freshDir = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'tandem-bench-orbit-')); dirs.push(d); return d }
const docs: Doc[] = Array.from({ length: n }, (_, i) => makeDoc(i))
const warm: Doc[] = Array.from({ length: 200 }, (_, i) => makeDoc(i))

interface Peer { helia: any; orbitdb: any; stop: () => Promise<void> }

async function startPeer(): Promise<Peer> {
  const dir = await freshDir()
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

async function w1(docs: Doc[]): Promise<{ seconds: number; docsPerSec: number }> {
  const n = docs.length
  const p = await startPeer()
  try {
    const db = await p.orbitdb.open('bench-w1', { type: 'documents' })
    gc()
    const t0 = performance.now()
    for (let i = 0; i < n; i++) await db.put({ _id: String(i), ...docs[i] })
    const seconds = (performance.now() - t0) / 1000
    const stored = (await db.all()).length
    if (stored !== n) throw new Error(`OrbitDB W1: ${stored} documents stored, ${n} written`)
    await db.close()
    return { seconds, docsPerSec: n / seconds }
  } finally {
    await p.stop()
  }
}

async function w2(): Promise<{ seconds: number; docsPerSec: number; remoteAddrs: string[] }> {
  const a = await startPeer()
  const b = await startPeer()
  try {
    const dbA = await a.orbitdb.open('bench-w2', { type: 'documents' })
    for (let i = 0; i < n; i++) await dbA.put({ _id: String(i), ...docs[i] })
    const addr = a.helia.libp2p.getMultiaddrs()[0]
    if (!String(addr).startsWith('/ip4/127.0.0.1/')) throw new Error(`OrbitDB: A listens on ${addr}, not loopback`)
    let timer: NodeJS.Timeout | undefined
    gc()
    const t0 = performance.now()
    await b.helia.libp2p.dial(addr)
    const dbB = await b.orbitdb.open(dbA.address)
    const done = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('OrbitDB W2: timed out waiting for all documents on B')), 60_000 + n * 50)
      const check = async (): Promise<void> => { if ((await dbB.all()).length >= n) resolve() }
      dbB.events.on('update', () => { void check() })
      void check()
    })
    await done
    clearTimeout(timer)
    const seconds = (performance.now() - t0) / 1000
    const all = await dbB.all()
    if (all.length !== n) throw new Error(`OrbitDB W2: ${all.length} documents on B, ${n} on A`)
    const remoteAddrs = [...a.helia.libp2p.getConnections(), ...b.helia.libp2p.getConnections()].map((c: any) => String(c.remoteAddr))
    await dbB.close()
    await dbA.close()
    return { seconds, docsPerSec: n / seconds, remoteAddrs }
  } finally {
    await b.stop()
    await a.stop()
  }
}

try {
  await w1(warm) // untimed warm-up: lets V8 compile the write path first
  const r1 = await w1(docs)
  const r2 = await w2()
  const versions = Object.fromEntries(['@orbitdb/core', 'helia', 'libp2p', 'blockstore-level', 'datastore-level'].map((p) => [p, version(p)]))
  process.stdout.write(`${JSON.stringify({ system: 'OrbitDB', n, w1: r1, w2: { seconds: r2.seconds, docsPerSec: r2.docsPerSec }, connections: r2.remoteAddrs, versions, sameProcess: true })}\n`)
} finally {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
}
process.exit(0)
