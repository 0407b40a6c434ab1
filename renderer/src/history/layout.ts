/**
 * Lays a document's change DAG out in rows and lanes: one row per change (oldest at the top), a
 * child continues its first parent's lane when that lane is still free, concurrent changes open
 * new lanes, and a merge returns to the leftmost of its parents' lanes. Pure, so it is tested alone.
 */
export interface DagNode { id: string; links: string[] }
export interface Placed { id: string; row: number; lane: number }
export interface Edge { from: string; to: string }

export function layoutDag(nodes: DagNode[]): { placed: Placed[]; edges: Edge[]; lanes: number } {
  const known = new Set(nodes.map((n) => n.id))
  const laneOf = new Map<string, number>()
  /** Lanes whose last node already has a child continuing it. */
  const continued = new Set<string>()
  const busy = new Set<number>()
  const placed: Placed[] = []
  const edges: Edge[] = []
  nodes.forEach((n, row) => {
    const parents = n.links.filter((l) => known.has(l))
    let lane: number | undefined
    const parentLanes = parents.map((p) => laneOf.get(p)!).sort((a, b) => a - b)
    if (parents.length > 1) {
      lane = parentLanes[0]
      // The other branches end here.
      for (const l of parentLanes.slice(1)) busy.delete(l)
    } else if (parents.length === 1 && !continued.has(parents[0]!)) {
      lane = laneOf.get(parents[0]!)
    }
    if (lane === undefined) {
      lane = 0
      while (busy.has(lane)) lane++
    }
    for (const p of parents) continued.add(p)
    busy.add(lane)
    laneOf.set(n.id, lane)
    placed.push({ id: n.id, row, lane })
    for (const p of parents) edges.push({ from: p, to: n.id })
  })
  const lanes = placed.reduce((m, p) => Math.max(m, p.lane + 1), 1)
  return { placed, edges, lanes }
}
