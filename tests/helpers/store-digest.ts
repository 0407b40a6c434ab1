/** A digest of every key and value of a data directory's LevelDB (the node must be stopped): "byte-for-byte unchanged". */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'

export async function storeDigest(dataDir: string): Promise<{ digest: string; keys: number }> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dataDir, 'db'), { keyEncoding: 'view', valueEncoding: 'view', createIfMissing: false })
  await db.open()
  const h = createHash('sha256')
  let keys = 0
  try {
    for await (const [k, v] of db.iterator()) {
      h.update(`${k.length}:`).update(k).update(`${v.length}:`).update(v)
      keys++
    }
  } finally {
    await db.close()
  }
  return { digest: h.digest('hex'), keys }
}
