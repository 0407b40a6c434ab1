/**
 * The copy limit for S1 (bench/sync.ts): A's whole LevelDB moved into an empty one on B by the
 * rawest means there are — read with `nextv`, framed as length-prefixed key/value pairs, sent over
 * one libp2p stream (tcp + noise + yamux) between two bare libp2p 3 nodes, written on B with raw
 * `batch()`es of 1024 pairs and the store's own LevelDB options. No decoding, hashing, checking
 * or merging: any replication that ends with B holding what A holds does at least this work, so
 * its rate bounds what S1 can reach in the same run, on the same machine, in the same one process.
 * A second bound copies a store of the blocks alone (`blocksOnly`): what even a design that kept
 * nothing but the blocks, and did nothing with them, would reach.
 *
 * A third (`verify`) copies the whole store again, but B checks every block before writing it, as
 * any receiver that keeps the content addressing must: the signature trees go first, then each
 * block is made whole again (`fullForm`, as a sender does) and goes through Tandem's own
 * `verifyBlocks` as its author's attested frames do (hash to its CID, canonical dag-cbor, shape),
 * overlapping the previous batch's write. No merge, no records built, no signature (one Ed25519
 * check per frame of 2048 blocks in Tandem). What no verifying replication can beat here.
 */
import { ClassicLevel } from 'classic-level'
import type { Libp2p } from 'libp2p'
import { WHOLE_SCAN, WRITE_BUFFER_BYTES } from '../main/db/store.ts'
import { decodeStoredBlock, verifyBlocks } from '../main/db/block.ts'
import { fullForm, treeEncoding, treeKeyOf, type SigTree } from '../main/db/lean-block.ts'
import { within } from './common.ts'

const PROTOCOL = '/tandem-bench/copy/1.0.0'
const CHUNK = 64 * 1024
const WRITE_BATCH = 1024
const READ_BATCH = 1000

type Raw = ClassicLevel<Uint8Array, Uint8Array>
const open = (path: string): Raw => new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view', writeBufferSize: WRITE_BUFFER_BYTES })

export interface CopySample { pairs: number; bytes: number; seconds: number }

/** The store's `blocks` and `trees` sublevels, as key ranges of its LevelDB. */
const BLOCKS = Buffer.from('!blocks!')
const BLOCKS_END = Buffer.concat([BLOCKS, Buffer.from([0xff])])
const TREES = Buffer.from('!trees!')
const TREES_END = Buffer.concat([TREES, Buffer.from([0xff])])
const startsWith = (key: Uint8Array, prefix: Uint8Array): boolean => key.length >= prefix.length && Buffer.compare(key.subarray(0, prefix.length), prefix) === 0
/** The rest of a sublevel's key after its prefix, as the string the store keys it by (no copy). */
const keyAfter = (key: Uint8Array, prefix: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset + prefix.length, key.length - prefix.length).toString('latin1')

/** Writes the blocks of the store at `from` (its `blocks` sublevel, keys and values as stored) into a new LevelDB at `to` (untimed set-up). */
export async function blocksOnly(from: string, to: string): Promise<void> {
  const src = open(from)
  const dst = open(to)
  await src.open()
  await dst.open()
  try {
    let ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> = []
    for await (const [key, value] of src.iterator({ gte: BLOCKS, lt: BLOCKS_END })) {
      ops.push({ type: 'put', key, value })
      if (ops.length === WRITE_BATCH) { await dst.batch(ops); ops = [] }
    }
    if (ops.length > 0) await dst.batch(ops)
  } finally {
    await src.close()
    await dst.close()
  }
}

/** The author of the store's blocks (untimed; the verified copy checks them as that device's attested frames). */
export async function authorOf(path: string): Promise<string> {
  const db = open(path)
  await db.open()
  try {
    for await (const [, value] of db.iterator({ gt: BLOCKS, lt: BLOCKS_END, limit: 1 })) return decodeStoredBlock(value).author
  } finally {
    await db.close()
  }
  throw new Error(`copy limit: no block in ${path}`)
}

/** Counts the pairs in the LevelDB at `path` (untimed; the receiver needs the count to know when it is done). */
async function countPairs(path: string): Promise<number> {
  const db = open(path)
  await db.open()
  let pairs = 0
  try {
    for await (const _ of db.keys()) pairs++
  } finally {
    await db.close()
  }
  return pairs
}

/**
 * Copies the LevelDB at `from` into a new one at `to` over a stream from `sender` to `receiver`.
 * The time runs from the first read to the last batch written on B; `onStart` is called as it starts.
 */
export async function copyRun(from: string, to: string, sender: Libp2p, receiver: Libp2p, limitMs: number, verify?: { author: string }, onStart?: () => void): Promise<CopySample> {
  const pairs = await countPairs(from)
  const src = open(from)
  const dst = open(to)
  await src.open()
  await dst.open()
  try {
    let written = 0
    let bytes = 0
    let failed: Error | null = null
    let resolve!: () => void
    const done = new Promise<void>((r) => { resolve = r })
    let writing: Promise<void> = Promise.resolve()
    let buffered: Uint8Array = new Uint8Array(0)
    let ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> = []
    let received = 0
    // The verified copy: the signature trees (sent first), and the blocks of the batch being filled.
    const trees = new Map<string, SigTree>()
    let checks: Array<{ bytes: Uint8Array; expected: string }> = []
    const flush = (): void => {
      const batch = ops
      ops = []
      // Checked now, while the batch before is written; written only once checked.
      const checked = checks.length === 0 ? null : verifyBlocks(checks, { attestedBy: verify!.author })
      checks = []
      writing = writing.then(async () => {
        const bad = checked === null ? undefined : (await checked).find((r) => r instanceof Error)
        if (bad !== undefined) throw bad
        await dst.batch(batch)
        written += batch.length
        if (written === pairs) resolve()
      }).catch((err: Error) => { failed = err; resolve() })
    }
    await receiver.handle(PROTOCOL, (stream) => {
      stream.addEventListener('message', (evt) => {
        const data = evt.data.subarray()
        const buf = buffered.length === 0 ? data : Buffer.concat([buffered, data])
        let at = 0
        const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
        while (buf.length - at >= 8) {
          const kl = view.getUint32(at)
          const vl = view.getUint32(at + 4)
          if (buf.length - at - 8 < kl + vl) break
          const key = buf.subarray(at + 8, at + 8 + kl)
          const value = buf.subarray(at + 8 + kl, at + 8 + kl + vl)
          if (verify !== undefined) {
            if (startsWith(key, TREES)) trees.set(keyAfter(key, TREES), treeEncoding.decode(value))
            else if (startsWith(key, BLOCKS)) {
              const whole = fullForm(value, trees.get(treeKeyOf(value) ?? ''))
              if (whole === null) { failed ??= new Error('copy limit: a block whose signature tree did not come first'); resolve() } else checks.push({ bytes: whole, expected: keyAfter(key, BLOCKS) })
            }
          }
          ops.push({ type: 'put', key, value })
          at += 8 + kl + vl
          received++
          if (ops.length === WRITE_BATCH || received === pairs) flush()
        }
        buffered = buf.subarray(at)
      })
    }, { force: true })
    const stream = await sender.dialProtocol(receiver.getMultiaddrs()[0]!, PROTOCOL, { signal: AbortSignal.timeout(10_000) })
    onStart?.()
    const t0 = performance.now()
    let chunk = Buffer.allocUnsafe(CHUNK)
    let fill = 0
    const send = async (): Promise<void> => {
      if (fill === 0) return
      const out = chunk.subarray(0, fill)
      chunk = Buffer.allocUnsafe(CHUNK)
      fill = 0
      if (!stream.send(out)) await stream.onDrain({ signal: AbortSignal.timeout(limitMs) })
    }
    // The verified copy sends the signature trees first: a block is checked whole, and its tree
    // makes it so. Then every other pair, as the plain copy does.
    const ranges = verify === undefined ? [{}] : [{ gte: TREES, lt: TREES_END }, { lt: TREES }, { gte: TREES_END }]
    for (const range of ranges) {
      // Read as Tandem's own whole scans read (1 MiB a call, not classic-level's 16 KiB), the next
      // read running in LevelDB's thread while this one is framed and sent.
      const it = src.iterator({ ...range, ...WHOLE_SCAN })
      let next = it.nextv(READ_BATCH)
      for (;;) {
        const entries = await next
        if (entries.length === 0) break
        next = it.nextv(READ_BATCH)
        for (const [k, v] of entries) {
          const need = 8 + k.length + v.length
          if (fill + need > chunk.length) await send()
          if (need > chunk.length) chunk = Buffer.allocUnsafe(need)
          chunk.writeUInt32BE(k.length, fill)
          chunk.writeUInt32BE(v.length, fill + 4)
          chunk.set(k, fill + 8)
          chunk.set(v, fill + 8 + k.length)
          fill += need
          bytes += k.length + v.length
        }
      }
      await it.close()
    }
    await send()
    await within(done, limitMs, `the copy's ${pairs} pairs to be written on B`)
    const seconds = (performance.now() - t0) / 1000
    if (failed !== null) throw failed
    await stream.close({ signal: AbortSignal.timeout(5_000) }).catch(() => stream.abort(new Error('close failed')))
    if (written !== pairs) throw new Error(`copy limit: ${written} pairs written, ${pairs} read`)
    return { pairs, bytes, seconds }
  } finally {
    await receiver.unhandle(PROTOCOL)
    await src.close()
    await dst.close()
  }
}
