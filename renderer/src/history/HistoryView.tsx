/** A document's history: its change DAG (SVG), live as changes arrive. */
import { useEffect, useState } from 'react'
import type { HistoryNode } from '../../../shared/api/index.ts'
import type { CollectionInfo, DocumentView } from '../../../shared/types.ts'
import { api } from '../bridge/current.ts'
import { ErrorText } from '../common/ErrorText.tsx'
import { humanError } from '../common/human-error.ts'
import { showValue } from '../common/format.ts'
import { useTandem } from '../store/store.ts'
import { HistoryGraph } from './HistoryGraph.tsx'

export function HistoryView({ collection, docID, onBack }: { collection: CollectionInfo; docID: string; onBack: () => void }) {
  const tick = useTandem((s) => s.docTicks[collection.name] ?? 0)
  const [nodes, setNodes] = useState<HistoryNode[] | null>(null)
  const [doc, setDoc] = useState<DocumentView | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    let live = true
    const ref = { collection: collection.name, docID }
    Promise.all([api().call('documents.history', ref), api().call('documents.get', ref)]).then(([h, d]) => {
      if (!live) return
      setNodes(h)
      setDoc(d)
      setError(null)
    }, (err: unknown) => { if (live) setError(humanError(err)) })
    return () => { live = false }
  }, [collection.name, docID, tick])
  return (
    <div className="panel">
      <header className="pane-head">
        <h2>History <span className="muted small">{docID}</span></h2>
        <button type="button" onClick={onBack}>Back to {collection.name}</button>
      </header>
      <ErrorText error={error} />
      {doc !== null && (
        <dl className="doc-now" aria-label="Current values">
          {collection.schema.fields.map((f) => (
            <div key={f.name}><dt>{f.name}</dt><dd>{showValue(doc.fields[f.name]) || <span className="muted">—</span>}</dd></div>
          ))}
        </dl>
      )}
      {nodes !== null && doc !== null && <HistoryGraph nodes={nodes} heads={doc.heads} concurrent={concurrentWrites(doc)} />}
    </div>
  )
}

/** The writes in conflict (each field's concurrent maximal writes, the one shown now included). */
function concurrentWrites(doc: DocumentView): Map<string, string[]> {
  const out = new Map<string, string[]>()
  const add = (cid: string, field: string): void => { out.set(cid, [...(out.get(cid) ?? []), field === '_deleted' ? 'delete' : field]) }
  for (const [field, list] of Object.entries(doc.conflicts ?? {})) {
    for (const c of list) add(c.cid, field)
    const w = doc.conflictWinners?.[field]
    if (w !== undefined) add(w.cid, field)
  }
  return out
}
