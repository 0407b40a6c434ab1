/** Delete with a second click to confirm (a deleted document can be restored by the API). */
import { useState } from 'react'
import type { DocumentView } from '../../../shared/types.ts'
import { api } from '../bridge/current.ts'
import { useAction } from '../common/use-action.ts'

export function DeleteButton({ collection, doc, label, onDeleted }: { collection: string; doc: DocumentView; label: string; onDeleted: () => void }) {
  const [confirming, setConfirming] = useState(false)
  const { busy, error, act } = useAction(async () => {
    await api().call('documents.delete', { collection, docID: doc.docID })
    onDeleted()
  })
  if (!confirming) {
    return <button type="button" className="small danger" aria-label={`Delete ${label}`} onClick={() => setConfirming(true)}>Delete</button>
  }
  return (
    <span className="confirm">
      <button type="button" className="small danger" disabled={busy} aria-label={`Confirm delete ${label}`} onClick={() => void act()}>Confirm</button>
      <button type="button" className="small" onClick={() => setConfirming(false)}>Keep</button>
      {error !== null && <span className="error small" role="alert">{error}</span>}
    </span>
  )
}
