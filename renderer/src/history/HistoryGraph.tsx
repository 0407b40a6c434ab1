/**
 * The DAG as SVG: a dot per change coloured by device, lines to its parents, and beside each row who
 * made it, when, and what it changed. Branches sit in separate lanes; a merge is a ringed dot.
 */
import type { HistoryNode } from '../../../shared/api/index.ts'
import { clock, shortID } from '../common/format.ts'
import { layoutDag } from './layout.ts'

const ROW = 56
const LANE = 28
const PAD = 20

/** A pseudo-node for the document as it is now when several heads are still open (merged on read). */
export const NOW = 'now'

export function HistoryGraph({ nodes, heads, concurrent = new Map() }: { nodes: HistoryNode[]; heads: string[]; concurrent?: ReadonlyMap<string, string[]> }) {
  const dag = nodes.map((n) => ({ id: n.cid as string, links: n.links as string[] }))
  if (heads.length > 1) dag.push({ id: NOW, links: heads })
  const { placed, edges, lanes } = layoutDag(dag)
  const byID = new Map(placed.map((p) => [p.id, p]))
  const info = new Map(nodes.map((n) => [n.cid as string, n]))
  const devices = [...new Set(nodes.map((n) => n.device as string))]
  const textX = PAD + lanes * LANE + 8
  const height = PAD * 2 + (placed.length - 1) * ROW + 20
  const at = (id: string): { x: number; y: number } => {
    const p = byID.get(id)!
    return { x: PAD + p.lane * LANE, y: PAD + p.row * ROW }
  }
  return (
    <svg className="dag" role="img" aria-label={`Change history: ${nodes.length} changes`} width="100%" height={height} viewBox={`0 0 760 ${height}`} preserveAspectRatio="xMinYMin meet">
      {edges.map((e) => {
        const a = at(e.from)
        const b = at(e.to)
        const mid = (a.y + b.y) / 2
        return <path key={`${e.from}-${e.to}`} className="dag-edge" d={`M${a.x},${a.y} C${a.x},${mid} ${b.x},${mid} ${b.x},${b.y}`} />
      })}
      {placed.map((p) => {
        const { x, y } = at(p.id)
        const n = info.get(p.id)
        const merge = p.id === NOW || (n !== undefined && n.links.length > 1)
        const colour = n === undefined ? 'now' : `d${devices.indexOf(n.device) % 6}`
        return (
          <g key={p.id} className={`${merge ? 'dag-node merge' : 'dag-node'}${concurrent.has(p.id) ? ' concurrent' : ''}`} data-testid={merge ? 'dag-merge' : 'dag-change'}>
            {concurrent.has(p.id) && <circle className="concurrent-ring" cx={x} cy={y} r={12} />}
            <circle className={`dot ${colour}`} cx={x} cy={y} r={merge ? 9 : 7} />
            {n === undefined ? (
              <text x={textX} y={y + 4} className="dag-title">Now: {heads.length} branches merged (each field keeps its latest write)</text>
            ) : (
              <>
                <text x={textX} y={y - 3} className="dag-title">
                  {describe(n)}{n.links.length > 1 ? ` · merge of ${n.links.length} branches` : ''}
                  {concurrent.has(p.id) ? ` · concurrent write (conflict on ${concurrent.get(p.id)!.join(', ')})` : ''}
                </text>
                <text x={textX} y={y + 14} className="dag-meta">
                  {n.deviceName ?? shortID(n.device)} · {clock(n.time)} · {shortID(n.cid, 8, 6)}
                </text>
              </>
            )}
          </g>
        )
      })}
    </svg>
  )
}

function describe(n: HistoryNode): string {
  if (n.deleted === true) return 'Deleted'
  if (n.deleted === false) return 'Restored'
  const names = Object.keys(n.changed)
  if (n.links.length === 0) return `Created (${names.join(', ')})`
  return names.length === 0 ? 'Merge' : `Changed ${names.join(', ')}`
}
