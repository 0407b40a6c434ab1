/**
 * Create or edit a document with one input per schema field. An edit sends only the fields that
 * changed (a patch); the node's refusal (wrong type, missing required field) shows inline and
 * nothing is written.
 */
import { useState, type FormEvent } from 'react'
import type { CollectionInfo, DocumentView } from '../../../shared/types.ts'
import { api } from '../bridge/current.ts'
import { Dialog } from '../common/Dialog.tsx'
import { ErrorText } from '../common/ErrorText.tsx'
import { useAction } from '../common/use-action.ts'
import { bumpDocs, loaders } from '../store/store.ts'
import { fromText, toText, typeLabel } from './field-value.ts'
import { showValue } from '../common/format.ts'

export function DocumentDialog({ collection, doc, onClose }: { collection: CollectionInfo; doc: DocumentView | null; onClose: () => void }) {
  const fields = collection.schema.fields
  const initial = Object.fromEntries(fields.map((f) => [f.name, toText(f, doc?.fields[f.name])]))
  const [texts, setTexts] = useState<Record<string, string>>(initial)
  const { busy, error, setError, act } = useAction(async (values: Record<string, unknown>) => {
    if (doc === null) await api().call('documents.create', { collection: collection.name, doc: values })
    else await api().call('documents.update', { collection: collection.name, docID: doc.docID, patch: values })
    bumpDocs(collection.name)
    void loaders.collections()
    onClose()
  })

  const submit = (e: FormEvent): void => {
    e.preventDefault()
    const values: Record<string, unknown> = {}
    for (const f of fields) {
      if (doc !== null && texts[f.name] === initial[f.name]) continue
      const parsed = fromText(f, texts[f.name] ?? '')
      if (!parsed.ok) return setError(parsed.error)
      if (doc === null && parsed.value === null) continue
      values[f.name] = parsed.value
    }
    if (doc !== null && Object.keys(values).length === 0) return onClose()
    void act(values)
  }

  return (
    <Dialog title={doc === null ? `New ${collection.name} document` : `Edit document`} onClose={onClose}>
      <form className="doc-form" onSubmit={submit}>
        {fields.map((f) => (
          <label key={f.name} className="field">
            <span>{f.name} <span className="muted small">{typeLabel(f)}</span></span>
            {f.type === 'Boolean' && !f.list ? (
              <select value={texts[f.name]} onChange={(e) => setTexts({ ...texts, [f.name]: e.target.value })}>
                <option value="">(not set)</option>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : (
              <input
                value={texts[f.name]}
                readOnly={f.crdt !== undefined && doc !== null}
                title={f.crdt !== undefined && doc !== null ? 'A counter: use + and − in the table (increments from every device add up)' : undefined}
                required={f.required && f.default === undefined && doc === null}
                inputMode={f.type === 'Int' ? 'numeric' : f.type === 'Float' ? 'decimal' : undefined}
                placeholder={f.default !== undefined && doc === null ? `default: ${showValue(f.default)}` : f.type === 'DateTime' ? '2026-01-31T12:00:00Z' : undefined}
                onChange={(e) => setTexts({ ...texts, [f.name]: e.target.value })}
              />
            )}
          </label>
        ))}
        {doc !== null && <p className="muted small">ID {doc.docID}</p>}
        <ErrorText error={error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>{doc === null ? 'Create' : 'Save'}</button>
          <button type="button" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  )
}
