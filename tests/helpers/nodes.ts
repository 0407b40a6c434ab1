/** Real Tandem nodes on 127.0.0.1 (port 0), each on its own data directory, for multi-node tests. */
import { TandemNode, type TandemNodeOptions } from '../../main/node/tandem-node.ts'
import { tempDir } from './tmp.ts'

type T = Parameters<typeof tempDir>[0]

export async function startNode(t: T, options: Partial<TandemNodeOptions> = {}): Promise<TandemNode> {
  const dataDir = options.dataDir ?? await tempDir(t)
  const log = process.env.TANDEM_TEST_LOG ? (msg: string) => console.error(`[${dataDir.slice(-6)}] ${msg}`) : undefined
  const node = await TandemNode.start({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, log, ...options, dataDir })
  t.after(() => node.stop())
  return node
}

/** How `n` is known to the other devices of a test group. */
const member = (n: TandemNode): { deviceID: string; name: string; addrs: string[] } => ({ deviceID: n.deviceID, name: `node-${n.deviceID.slice(-4)}`, addrs: n.addresses() })

/** Makes the nodes one group: the same secret, each knows the others and their addresses. */
export async function formGroup(nodes: TandemNode[]): Promise<void> {
  const secret = nodes[0]!.group.secret.bytes
  for (const n of nodes.slice(1)) await n.group.setSecret(secret)
  for (const a of nodes) {
    for (const b of nodes) {
      if (a !== b) await a.group.add(member(b))
    }
  }
}

/** Adds `node` to the group the others already form (the others are not re-added to each other). */
export async function joinGroup(node: TandemNode, members: TandemNode[]): Promise<void> {
  await node.group.setSecret(members[0]!.group.secret.bytes)
  for (const m of members) await m.group.add(member(node))
  for (const m of members) await node.group.add(member(m))
}

export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined && v !== false) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
