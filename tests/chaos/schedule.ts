import { EXTRA_FIELDS } from './protocol.ts'

const EXTRA_NAMES = EXTRA_FIELDS.map((f) => f.split(':')[0]!)

/**
 * The chaos schedule: a pure function of (seed, nodes, ops), so a failing seed replays the same
 * sequence of operations (the timing of the network between them is the machine's).
 */

export type Op =
  | { t: 'create'; node: number; fields: Record<string, unknown> }
  | { t: 'update'; node: number; doc: number; patch: Record<string, unknown> }
  | { t: 'delete'; node: number; doc: number }
  | { t: 'restore'; node: number; doc: number }
  | { t: 'partition'; a: number; b: number }
  | { t: 'heal'; a: number; b: number }
  | { t: 'kill'; node: number }
  | { t: 'restart'; node: number }
  | { t: 'repAdd'; node: number; target: number }
  | { t: 'repRemove'; node: number; target: number }
  | { t: 'sleep'; ms: number }
  /** A new schema version on that node: add one of EXTRA_FIELDS (protocol.ts) if its schema lacks it. */
  | { t: 'schema'; node: number; field: number }

export interface ScheduleOptions { seed: number; nodes: number; ops: number }

/** mulberry32: small, fast, good enough to pick operations. */
export function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = ['dune', 'ash', 'harbor', 'lantern', 'quartz', 'meadow', 'ember', 'tide', 'willow', 'cobalt', 'fjord', 'ü-naïve', '書']

/** Fields a schema op may add (protocol.ts EXTRA_FIELDS by index); updates may set them once added somewhere. */
const EXTRA_VALUES: Array<(int: (lo: number, hi: number) => number) => unknown> = [(int) => int(0, 5), (int) => `978-${int(0, 1e6)}`, (int) => int(0, 1) === 0]

export function schedule({ seed, nodes, ops }: ScheduleOptions): Op[] {
  const rand = prng(seed)
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1))
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
  const text = (): string => Array.from({ length: int(1, 6) }, () => pick(WORDS)).join(' ')
  const value = (name: string): unknown => {
    if (name !== 'title' && rand() < 0.12) return null
    switch (name) {
      case 'title': return `t-${seed}-${int(0, 1e9)}`
      case 'pages': return int(1, 2000)
      case 'tags': return Array.from({ length: int(0, 3) }, () => pick(WORDS))
      case 'read': return rand() < 0.5
      default: return text()
    }
  }
  const FIELDS = ['title', 'pages', 'tags', 'read', 'body']

  const up = new Set(Array.from({ length: nodes }, (_, i) => i))
  const restartAt = new Map<number, number>() // node → op index at which it comes back
  const cut = new Set<string>() // partitioned pairs "a-b", a < b
  const reps = new Set<string>() // "node>target"
  let docs = 0
  const added: number[] = [] // extra fields some node has added
  const out: Op[] = []
  const docRef = (): number => (rand() < 0.7 ? Math.max(0, docs - 1 - int(0, 15)) : int(0, docs - 1))

  for (let i = 0; out.length < ops; i++) {
    for (const [n, at] of restartAt) {
      if (at <= i) { out.push({ t: 'restart', node: n }); up.add(n); restartAt.delete(n) }
    }
    const upList = [...up]
    const r = rand()
    if (r < 0.8 || docs === 0) {
      const node = pick(upList)
      const w = rand()
      if (w < 0.3 || docs === 0) {
        const fields: Record<string, unknown> = { title: value('title') }
        for (const f of FIELDS.slice(1)) if (rand() < 0.6) fields[f] = value(f)
        out.push({ t: 'create', node, fields })
        docs++
      } else if (w < 0.85) {
        const patch: Record<string, unknown> = {}
        for (const f of FIELDS) if (rand() < 0.35) patch[f] = value(f)
        if (Object.keys(patch).length === 0) patch.pages = value('pages')
        // A field added on some node: refused (UNKNOWN_FIELD) where that version has not arrived yet.
        if (added.length > 0 && rand() < 0.3) { const f = pick(added); patch[EXTRA_NAMES[f]!] = EXTRA_VALUES[f]!(int) }
        out.push({ t: 'update', node, doc: docRef(), patch })
      } else if (w < 0.95) {
        out.push({ t: 'delete', node, doc: docRef() })
      } else {
        out.push({ t: 'restore', node, doc: docRef() })
      }
    } else if (r < 0.85) {
      const a = int(0, nodes - 1)
      const b = (a + int(1, nodes - 1)) % nodes
      const key = `${Math.min(a, b)}-${Math.max(a, b)}`
      if (!cut.has(key)) { cut.add(key); out.push({ t: 'partition', a: Math.min(a, b), b: Math.max(a, b) }) }
    } else if (r < 0.9) {
      if (cut.size > 0) {
        const key = pick([...cut].sort())
        cut.delete(key)
        const [a, b] = key.split('-').map(Number) as [number, number]
        out.push({ t: 'heal', a, b })
      }
    } else if (r < 0.915) {
      if (upList.length >= 2) {
        const node = pick(upList)
        up.delete(node)
        restartAt.set(node, i + int(5, 40))
        out.push({ t: 'kill', node })
      }
    } else if (r < 0.935) {
      const node = pick(upList)
      const target = (node + int(1, nodes - 1)) % nodes
      reps.add(`${node}>${target}`)
      out.push({ t: 'repAdd', node, target })
    } else if (r < 0.95) {
      const mine = [...reps].filter((k) => up.has(Number(k.split('>')[0]))).sort()
      if (mine.length > 0) {
        const key = pick(mine)
        reps.delete(key)
        const [node, target] = key.split('>').map(Number) as [number, number]
        out.push({ t: 'repRemove', node, target })
      }
    } else if (r < 0.96) {
      const field = int(0, EXTRA_NAMES.length - 1)
      if (!added.includes(field)) added.push(field)
      out.push({ t: 'schema', node: pick(upList), field })
    } else {
      out.push({ t: 'sleep', ms: int(1, 40) })
    }
  }
  return out
}
