/**
 * Trash: a collection's deleted documents (deletes are tombstones; the history stays). Restore is a
 * new change that replicates to every device; History opens the document's DAG.
 */
import { useCallback, useEffect, useState } from 'react'
import type { CollectionInfo, DocumentView } from '../../../shared/types.ts'
import { api } from '../bridge/current.ts'
import { useTandem } from '../store/store.ts'
import { ago, shortID, showValue } from '../common/format.ts'
import { ErrorText } from '../common/ErrorText.tsx'
import { humanError } from '../common/human-error.ts'

const PAGE = 200

export function TrashView({ collection, onHistory }: { collection: CollectionInfo; onHistory: (doc: DocumentView) => void }) {
  const tick = useTandem((s) => s.docTicks[collection.name] ?? 0)
  const [docs, setDocs] = useState<DocumentView[] | null>(null)
  const [total, setTotal] = useState(0)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const load = useCallback(async () => {
    try {
      const r = await api().call('documents.list', { collection: collection.name, deleted: true, limit: PAGE })
      setDocs(r.docs)
      setTotal(r.total)
    } catch (err) {
      setError(humanError(err))
    }
  }, [collection.name])
  useEffect(() => { void load() }, [load, tick])
  const restore = async (doc: DocumentView): Promise<void> => {
    setBusy(doc.docID)
    setError(null)
    try {
      await api().call('documents.restore', { collection: collection.name, docID: doc.docID })
      await load()
    } catch (err) {
      setError(humanError(err))
    } finally {
      setBusy(null)
    }
  }
  if (docs === null) return <p className="muted">Loading the trash…</p>
  const fieldNames = docs.length === 0 ? [] : Object.keys(docs[0]!.fields).slice(0, 3)
  return (
    <section aria-label="Trash" data-testid="trash">
      <ErrorText error={error} />
      {docs.length === 0 ? <p className="muted">The trash is empty.</p> : (
        <>
          <p className="muted">{total} deleted {total === 1 ? 'document' : 'documents'}{total > docs.length ? ` (showing ${docs.length})` : ''}. Restoring is a new change that reaches every device.</p>
          <table className="docs">
            <thead><tr><th>docID</th>{fieldNames.map((f) => <th key={f}>{f}</th>)}<th>deleted</th><th /></tr></thead>
            <tbody>
              {docs.map((d) => (
                <tr key={d.docID}>
                  <td title={d.docID}>{shortID(d.docID)}</td>
                  {fieldNames.map((f) => <td key={f}>{showValue(d.fields[f])}</td>)}
                  <td>{ago(d.updatedAt)}</td>
                  <td className="actions">
                    <button type="button" onClick={() => onHistory(d)}>History</button>
                    <button type="button" className="primary" disabled={busy === d.docID} onClick={() => void restore(d)}>Restore</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  )
}
