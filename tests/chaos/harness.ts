/**
 * The chaos harness: K real node processes on 127.0.0.1, each on its own data directory, formed into
 * one group, then a seeded schedule (./schedule.ts) of writes on random nodes, pairwise partitions
 * and heals, SIGKILL and restart on the same data dir, replicators added and removed. At the end
 * every partition heals, every node is up, and the run waits (bounded) until all nodes report the
 * same digests with nothing pending; then the nodes stop and ./verify.ts checks the stores.
 *
 * Writes are pipelined (a bounded number in flight), so a kill lands among writes in flight: those
 * never acknowledged may or may not survive; every acknowledged one must.
 */
import { createServer } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DELETED_FIELD } from '../../main/db/block.ts'
import { NodeProcess } from './node-process.ts'
import { schedule, type Op } from './schedule.ts'
import { compareNodes, dumpNode, type AckedWrite, type VerifyResult } from './verify.ts'
import type { WriteResult } from './protocol.ts'

export interface RunOptions {
  seed: number
  nodes: number
  ops: number
  /** Bound on the wait for quiescence after the final heal (ms). */
  quiesceMs?: number
  /** Writes in flight at once, over all nodes. */
  window?: number
  keepDirs?: boolean
}

export interface RunResult {
  seed: number
  nodes: number
  ops: number
  /** Writes sent; acked; refused with a typed error; unacked (the node died with them in flight); skipped (node still restarting). */
  writes: { sent: number; acked: number; refused: number; unacked: number; skipped: number }
  partitions: number
  heals: number
  kills: number
  replicatorsAdded: number
  /** Schema versions made (an extra field added on a node that lacked it). */
  schemaUpdates: number
  replicatorsRemoved: number
  convergenceMs: number
  totalMs: number
  verify: VerifyResult
}

export class ChaosFailure extends Error {
  readonly result: Partial<RunResult>
  constructor(message: string, result: Partial<RunResult>) {
    super(message)
    this.result = result
  }
}

/** The one-line command that replays a seed exactly (same schedule). */
export function replayCommand(o: Pick<RunOptions, 'seed' | 'nodes' | 'ops'>): string {
  return `npm run chaos -- --seed ${o.seed} --nodes ${o.nodes} --ops ${o.ops}`
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

const pairKey = (a: number, b: number): string => `${Math.min(a, b)}-${Math.max(a, b)}`

export async function runSeed(options: RunOptions): Promise<RunResult> {
  const { seed, ops: opCount } = options
  const k = options.nodes
  const window = options.window ?? 8
  const started = performance.now()
  const plan: Op[] = schedule({ seed, nodes: k, ops: opCount })
  const base = await mkdtemp(join(tmpdir(), `tandem-chaos-${seed}-`))
  const nodes: NodeProcess[] = []
  for (let i = 0; i < k; i++) nodes.push(new NodeProcess(i, join(base, `n${i}`), await freePort()))
  const result: RunResult = {
    seed, nodes: k, ops: plan.length, writes: { sent: 0, acked: 0, refused: 0, unacked: 0, skipped: 0 },
    partitions: 0, heals: 0, kills: 0, replicatorsAdded: 0, replicatorsRemoved: 0, schemaUpdates: 0, convergenceMs: 0, totalMs: 0,
    verify: { problems: [], current: 0, supersededLater: 0, supersededConcurrent: 0, lost: 0, docs: 0, blocks: 0 },
  }
  const cut = new Set<string>()
  const denyList = (i: number): string[] => nodes.filter((n) => n.index !== i && cut.has(pairKey(i, n.index))).map((n) => n.deviceID)
  const acked: AckedWrite[] = []
  const docIDs: Array<Promise<string | null>> = []
  const inflight = new Set<Promise<unknown>>()
  // A restart runs beside the schedule: ops on other nodes go on meanwhile, an op on the node
  // itself waits for it, and once up it takes the partitions as they are then.
  const starting = new Map<number, Promise<void>>()
  let failure: Error | null = null
  const restart = (n: NodeProcess): void => {
    const run = n.start(denyList(n.index)).then(async () => {
      const others = nodes.filter((m) => m !== n)
      await n.call('setDenied', { peers: denyList(n.index), addrs: others.filter((m) => !cut.has(pairKey(n.index, m.index))).map((m) => m.addr) })
    }).catch((err: Error) => {
      if (n.running) failure ??= new Error(`node ${n.index} did not restart: ${err.message}`) // not a kill during startup
    }).finally(() => starting.delete(n.index))
    starting.set(n.index, run)
  }
  let failed = true
  try {
    // Start and form the group (as tests/helpers/nodes.ts formGroup does, across processes).
    await Promise.all(nodes.map((n) => n.start()))
    await Promise.all(nodes.map((n) => n.call('setup', {})))
    const secret = await nodes[0]!.call('groupSecret', {})
    for (const n of nodes.slice(1)) await n.call('setSecret', { secret })
    for (const a of nodes) for (const b of nodes) if (a !== b) await a.call('groupAdd', { deviceID: b.deviceID, addrs: [`/ip4/127.0.0.1/tcp/${b.port}`] })

    const write = (at: number, node: NodeProcess, op: AckedWrite['op'], send: () => Promise<WriteResult>, fields: Record<string, unknown>): Promise<WriteResult | null> => {
      result.writes.sent++
      const p = send().then((r) => {
        if (r.height < 1) { failure ??= new Error(`node ${node.index} acked ${op} #${at} but its block is not there`); return null }
        result.writes.acked++
        acked.push({ op, node: node.index, at, docID: r.docID, cid: r.cid, height: r.height, fields })
        return r
      }, (err: Error & { code?: string }) => {
        if (err.code !== undefined) result.writes.refused++ // a typed refusal (e.g. not synced there yet, deleted)
        else if (!node.up) result.writes.unacked++ // the node died with it in flight
        else failure ??= new Error(`node ${node.index}: ${op} #${at} failed without a typed error: ${err.message}`)
        return null
      })
      const tracked = p.finally(() => inflight.delete(tracked))
      inflight.add(tracked)
      return p
    }
    const throttle = async (): Promise<void> => {
      while (inflight.size >= window) await Promise.race(inflight)
    }

    for (const [at, op] of plan.entries()) {
      if (failure !== null) throw failure
      switch (op.t) {
        case 'create': {
          await throttle()
          const n = nodes[op.node]!
          await starting.get(n.index)
          if (!n.up) { result.writes.skipped++; docIDs.push(Promise.resolve(null)); break }
          const p = write(at, n, 'create', () => n.call('create', { fields: op.fields }), op.fields)
          docIDs.push(p.then((r) => r?.docID ?? null))
          break
        }
        case 'update':
        case 'delete':
        case 'restore': {
          const docID = await docIDs[op.doc]
          if (docID === null || docID === undefined) break
          await throttle()
          const n = nodes[op.node]!
          await starting.get(n.index)
          if (!n.up) { result.writes.skipped++; break }
          if (op.t === 'update') write(at, n, 'update', () => n.call('update', { docID, patch: op.patch }), op.patch)
          else write(at, n, op.t, () => n.call(op.t, { docID }), { [DELETED_FIELD]: op.t === 'delete' })
          break
        }
        case 'partition': {
          cut.add(pairKey(op.a, op.b))
          result.partitions++
          const [a, b] = [nodes[op.a]!, nodes[op.b]!]
          await Promise.all([
            a.up ? a.call('deny', { peer: b.deviceID }).catch(() => {}) : null,
            b.up ? b.call('deny', { peer: a.deviceID }).catch(() => {}) : null,
          ])
          break
        }
        case 'heal': {
          cut.delete(pairKey(op.a, op.b))
          result.heals++
          const [a, b] = [nodes[op.a]!, nodes[op.b]!]
          await Promise.all([
            a.up ? a.call('allow', { peer: b.deviceID, addr: b.addr }).catch(() => {}) : null,
            b.up ? b.call('allow', { peer: a.deviceID, addr: a.addr }).catch(() => {}) : null,
          ])
          break
        }
        case 'kill':
          result.kills++
          await starting.get(op.node)
          await nodes[op.node]!.kill()
          break
        case 'restart':
          restart(nodes[op.node]!)
          break
        case 'repAdd': {
          const n = nodes[op.node]!
          await starting.get(n.index)
          if (!n.up) break
          await n.call('repSet', { target: nodes[op.target]!.deviceID }).then(() => { result.replicatorsAdded++ }, () => {})
          break
        }
        case 'repRemove': {
          const n = nodes[op.node]!
          await starting.get(n.index)
          if (!n.up) break
          await n.call('repRemove', { target: nodes[op.target]!.deviceID }).then(() => { result.replicatorsRemoved++ }, () => {})
          break
        }
        case 'schema': {
          const n = nodes[op.node]!
          await starting.get(n.index)
          if (!n.up) break
          await n.call('schema', { field: op.field }).then(() => { result.schemaUpdates++ }, (err: Error & { code?: string }) => {
            if (err.code === undefined && n.up) failure ??= new Error(`node ${n.index}: schema update failed without a typed error: ${err.message}`)
          })
          break
        }
        case 'sleep':
          await new Promise((r) => setTimeout(r, op.ms))
          break
      }
    }
    await Promise.allSettled([...inflight])
    await Promise.all([...starting.values()])
    if (failure !== null) throw failure

    // Heal everything, bring every node up, and wait for quiescence.
    const healStart = performance.now()
    for (const n of nodes) if (!n.running) await n.start(denyList(n.index))
    for (const key of [...cut]) {
      cut.delete(key)
      const [a, b] = key.split('-').map((x) => nodes[Number(x)]!) as [NodeProcess, NodeProcess]
      await a.call('allow', { peer: b.deviceID, addr: b.addr })
      await b.call('allow', { peer: a.deviceID, addr: a.addr })
    }
    const bound = options.quiesceMs ?? 60_000
    let stable = 0
    let lastConnect = 0
    let last = ''
    for (;;) {
      if (performance.now() - lastConnect > 3000) {
        lastConnect = performance.now()
        await Promise.all(nodes.map((n) => n.call('connect', { addrs: nodes.filter((m) => m !== n).map((m) => m.addr) })))
      }
      const st = await Promise.all(nodes.map((n) => n.call('status', {})))
      const d0 = JSON.stringify(st[0]!.digests)
      const quiet = st.every((s) => JSON.stringify(s.digests) === d0 && s.version === st[0]!.version && s.pending === 0 && s.outbox === 0 && !s.syncing)
      last = JSON.stringify(st.map((s) => ({ ...s, digests: Object.values(s.digests).map((x) => x.slice(0, 12)) })))
      if (quiet) {
        if (++stable >= 2) break
      } else {
        stable = 0
      }
      if (performance.now() - healStart > bound) {
        throw new ChaosFailure(`no quiescence ${bound} ms after the final heal; status: ${last}`, result)
      }
      await new Promise((r) => setTimeout(r, 150))
    }
    result.convergenceMs = Math.round(performance.now() - healStart)
    await Promise.all(nodes.map((n) => n.stop()))

    const dumps = []
    for (const n of nodes) dumps.push(await dumpNode(n.index, n.dataDir))
    result.verify = compareNodes(dumps, acked)
    result.totalMs = Math.round(performance.now() - started)
    if (result.verify.problems.length > 0 || result.verify.lost > 0) {
      throw new ChaosFailure(`${result.verify.lost} acknowledged writes lost; ${result.verify.problems.length} problems:\n  ${result.verify.problems.slice(0, 20).join('\n  ')}`, result)
    }
    failed = false
    return result
  } catch (err) {
    const tails = nodes.map((n) => `--- node ${n.index} stderr ---\n${n.stderr.slice(-8).join('\n')}`).join('\n')
    const msg = `chaos seed ${seed} failed: ${(err as Error).message}\n${tails}\ndata dirs kept in ${base}\nreplay: ${replayCommand(options)}`
    throw new ChaosFailure(msg, result)
  } finally {
    await Promise.all(nodes.map((n) => n.kill().catch(() => {})))
    if (!failed && options.keepDirs !== true) await rm(base, { recursive: true, force: true })
  }
}

/** One line of figures for a run. */
export function figures(r: RunResult): string {
  const v = r.verify
  return `seed ${r.seed}: ${r.nodes} nodes, ${r.ops} ops, writes ${r.writes.acked} acked / ${r.writes.refused} refused / ${r.writes.unacked} unacked / ${r.writes.skipped} skipped, ` +
    `${r.partitions} partitions, ${r.heals} heals, ${r.kills} kills, replicators +${r.replicatorsAdded}/-${r.replicatorsRemoved}, ${r.schemaUpdates} schema updates, ` +
    `${v.docs} docs, ${v.blocks} blocks, superseded ${v.supersededLater} later + ${v.supersededConcurrent} concurrent, ` +
    `converged in ${r.convergenceMs} ms, total ${r.totalMs} ms, lost ${v.lost}`
}
