/** A collection's documents: sort by a column, filter on a field, one page at a time; live. */
import { useEffect, useState } from 'react'
import type { CollectionInfo, DocumentView, FieldSchema, ListResult } from '../../../shared/types.ts'
import { api } from '../bridge/current.ts'
import { ErrorText } from '../common/ErrorText.tsx'
import { humanError } from '../common/human-error.ts'
import { showValue } from '../common/format.ts'
import { useTandem } from '../store/store.ts'
import { FilterBar, type Filter } from './FilterBar.tsx'
import { DeleteButton } from './DeleteButton.tsx'
import { ConflictsDialog } from './ConflictsDialog.tsx'

const PAGE = 20

interface Props {
  collection: CollectionInfo
  onEdit: (doc: DocumentView) => void
  onHistory: (doc: DocumentView) => void
}

export function DocumentsTable({ collection, onEdit, onHistory }: Props) {
  const fields = collection.schema.fields
  const tick = useTandem((s) => s.docTicks[collection.name] ?? 0)
  const [sort, setSort] = useState<string | null>(null)
  const [filter, setFilter] = useState<Filter | null>(null)
  const [offset, setOffset] = useState(0)
  const [page, setPage] = useState<ListResult | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [reloads, setReloads] = useState(0)
  const [conflictsOf, setConflictsOf] = useState<string | null>(null)
  const increment = (doc: DocumentView, field: string, amount: number): void => {
    api().call('documents.increment', { collection: collection.name, docID: doc.docID, field, amount })
      .then(() => setReloads((n) => n + 1), (err: unknown) => setError(humanError(err)))
  }

  useEffect(() => {
    let live = true
    api().call('documents.list', {
      collection: collection.name, limit: PAGE, offset,
      ...(sort !== null ? { sort } : {}),
      ...(filter !== null ? { filter: { [filter.field]: { [filter.op]: filter.value } } } : {}),
    }).then((r) => {
      if (!live) return
      setPage(r)
      setError(null)
    }, (err: unknown) => { if (live) setError(humanError(err)) })
    return () => { live = false }
  }, [collection.name, sort, filter, offset, tick, reloads])

  const sortBy = (name: string): void => {
    setSort(sort === name ? `-${name}` : sort === `-${name}` ? null : name)
    setOffset(0)
  }
  const arrow = (name: string): string => (sort === name ? ' ▲' : sort === `-${name}` ? ' ▼' : '')
  const ariaSort = (name: string): 'ascending' | 'descending' | 'none' => (sort === name ? 'ascending' : sort === `-${name}` ? 'descending' : 'none')
  const total = page?.total ?? 0

  return (
    <div className="documents">
      <FilterBar fields={fields} filter={filter} onChange={(f) => { setFilter(f); setOffset(0) }} />
      <ErrorText error={error} />
      <div className="table-wrap">
        <table aria-label={`${collection.name} documents`}>
          <thead>
            <tr>
              {fields.map((f) => (
                <th key={f.name} aria-sort={ariaSort(f.name)}>
                  <button type="button" className="th-sort" onClick={() => sortBy(f.name)}>{f.name}{arrow(f.name)}</button>
                </th>
              ))}
              <th className="actions-col"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {page?.docs.map((doc) => (
              <tr key={doc.docID} data-docid={doc.docID}>
                {fields.map((f) => (
                  <td key={f.name}>
                    {showValue(doc.fields[f.name])}
                    {f.crdt !== undefined && (
                      <span className="counter-controls">
                        <button type="button" className="small" aria-label={`Add 1 to ${f.name} of ${label(doc, fields)}`} onClick={() => increment(doc, f.name, 1)}>+</button>
                        {f.crdt === 'pncounter' && (
                          <button type="button" className="small" aria-label={`Subtract 1 from ${f.name} of ${label(doc, fields)}`} onClick={() => increment(doc, f.name, -1)}>−</button>
                        )}
                      </span>
                    )}
                    {doc.conflicts?.[f.name] !== undefined && <span className="pill warn conflict-mark" title="Edited on another device at the same time">⚠</span>}
                    {doc.typeConflicts?.[f.name] !== undefined && (
                      <span className="pill warn" title="Written under a concurrent schema version that gave this field another type (see the notice above); kept, not shown as the field.">
                        conflict: {showValue(doc.typeConflicts[f.name])}
                      </span>
                    )}
                  </td>
                ))}
                <td className="row-actions">
                  {doc.conflicts !== undefined && (
                    <button type="button" className="pill warn conflict-badge" aria-label={`Conflicting edits in ${label(doc, fields)}`}
                      onClick={() => setConflictsOf(doc.docID)}>
                      {Object.keys(doc.conflicts).length === 1 ? '1 conflict' : `${Object.keys(doc.conflicts).length} conflicts`}
                    </button>
                  )}
                  {doc.held !== undefined && <span className="pill warn" title="Another device deleted it; the deletion is held until you choose (banner above).">deletion held</span>}
                  <button type="button" className="small" aria-label={`Edit ${label(doc, fields)}`} onClick={() => onEdit(doc)}>Edit</button>
                  <button type="button" className="small" aria-label={`History of ${label(doc, fields)}`} onClick={() => onHistory(doc)}>History</button>
                  <DeleteButton collection={collection.name} doc={doc} label={label(doc, fields)} onDeleted={() => setReloads((n) => n + 1)} />
                </td>
              </tr>
            ))}
            {page !== null && page.docs.length === 0 && (
              <tr><td colSpan={fields.length + 1} className="empty">{filter !== null ? 'No document matches the filter.' : 'No documents yet.'}</td></tr>
            )}
          </tbody>
        </table>
      </div>
      {conflictsOf !== null && page?.docs.find((d) => d.docID === conflictsOf)?.conflicts !== undefined && (
        <ConflictsDialog collection={collection} doc={page.docs.find((d) => d.docID === conflictsOf)!} onClose={() => { setConflictsOf(null); setReloads((n) => n + 1) }} />
      )}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>Previous page</button>
        <span>{total === 0 ? '0' : `${offset + 1}–${Math.min(offset + PAGE, total)}`} of {total}</span>
        <button type="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>Next page</button>
      </nav>
    </div>
  )
}

/** A row's name for buttons: its title or name, else its first required text, else any text, else its docID. */
function label(doc: DocumentView, fields: FieldSchema[]): string {
  const text = (name: string): string | null => {
    const v = doc.fields[name]
    return typeof v === 'string' && v !== '' ? v : null
  }
  const order = [
    ...fields.filter((f) => f.name === 'title' || f.name === 'name'),
    ...fields.filter((f) => f.type === 'String' && f.required),
    ...fields.filter((f) => f.type === 'String'),
  ]
  for (const f of order) {
    const v = text(f.name)
    if (v !== null) return v
  }
  return doc.docID
}
