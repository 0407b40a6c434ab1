/** One collection: its actions, and its documents table or one document's history. */
import { useState } from 'react'
import type { CollectionInfo, DocumentView } from '../../../shared/types.ts'
import { useTandem } from '../store/store.ts'
import { DocumentsTable } from './DocumentsTable.tsx'
import { DocumentDialog } from './DocumentDialog.tsx'
import { EditFields } from './EditFields.tsx'
import { HistoryView } from '../history/HistoryView.tsx'
import { ReplicatePicker } from '../replicators/ReplicatePicker.tsx'
import { TrashView } from '../views/TrashView.tsx'
import { BackupActions } from '../backup/BackupCard.tsx'

export function CollectionPanel({ collection, historyDoc }: { collection: CollectionInfo; historyDoc: string | null }) {
  const navigate = useTandem((s) => s.navigate)
  const [editing, setEditing] = useState<DocumentView | 'new' | null>(null)
  const [replicating, setReplicating] = useState(false)
  const [trash, setTrash] = useState(false)
  const [fields, setFields] = useState(false)
  const [backup, setBackup] = useState(false)
  if (historyDoc !== null) {
    return (
      <HistoryView
        collection={collection}
        docID={historyDoc}
        onBack={() => navigate({ section: 'collections', collection: collection.name })}
      />
    )
  }
  return (
    <div className="panel">
      <header className="pane-head">
        <h2>{collection.name} <span className="muted">· {collection.count} {collection.count === 1 ? 'document' : 'documents'}</span></h2>
        <div className="actions">
          <button type="button" aria-pressed={trash} onClick={() => setTrash(!trash)}>{trash ? 'Documents' : 'Trash'}</button>
          <button type="button" onClick={() => setFields(true)}>Edit fields</button>
          <button type="button" onClick={() => setReplicating(true)}>Replicate collection to…</button>
          <button type="button" aria-pressed={backup} onClick={() => setBackup(!backup)}>Backup…</button>
          <button type="button" className="primary" onClick={() => setEditing('new')}>Add document</button>
        </div>
      </header>
      {backup && <BackupActions collection={collection.name} />}
      {trash ? (
        <TrashView collection={collection} onHistory={(doc) => navigate({ section: 'collections', collection: collection.name, history: doc.docID })} />
      ) : (
        <DocumentsTable
          collection={collection}
          onEdit={(doc) => setEditing(doc)}
          onHistory={(doc) => navigate({ section: 'collections', collection: collection.name, history: doc.docID })}
        />
      )}
      {editing !== null && (
        <DocumentDialog collection={collection} doc={editing === 'new' ? null : editing} onClose={() => setEditing(null)} />
      )}
      {fields && <EditFields collection={collection} onClose={() => setFields(false)} />}
      {(collection.conflicts ?? []).map((c) => <p key={c.field} className="notice small" role="status">{c.message}</p>)}
      {replicating && <ReplicatePicker collection={collection.name} onClose={() => setReplicating(false)} />}
    </div>
  )
}
