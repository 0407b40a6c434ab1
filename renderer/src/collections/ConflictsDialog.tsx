/**
 * A document's conflicting edits (issue 18): for each field in conflict, its values side by side —
 * the one shown now and each concurrent one — with the device and time that wrote it, and "Keep
 * this" on each, which writes that value as a new change (documents.resolve) and so settles the
 * field on every device. A delete with concurrent edits shows the delete beside each edit.
 */
import type { CollectionInfo, ConflictValue, DocumentView } from '../../../shared/types.ts'
import { api } from '../bridge/current.ts'
import { Dialog } from '../common/Dialog.tsx'
import { ErrorText } from '../common/ErrorText.tsx'
import { useAction } from '../common/use-action.ts'
import { clock, showValue } from '../common/format.ts'
import { bumpDocs, loaders } from '../store/store.ts'

export function ConflictsDialog({ collection, doc, onClose }: { collection: CollectionInfo; doc: DocumentView; onClose: () => void }) {
  const { busy, error, act } = useAction(async (field: string, pick: string) => {
    await api().call('documents.resolve', { collection: collection.name, docID: doc.docID, field, pick })
    bumpDocs(collection.name)
    void loaders.collections()
    onClose()
  })
  const fields = Object.keys(doc.conflicts ?? {})
  return (
    <Dialog title="Conflicting edits" onClose={onClose}>
      <p className="muted small">
        These were edited on different devices at the same time. The first value is the one shown now; keep any of them and
        it is written as a new change, on every device.
      </p>
      {fields.map((field) => {
        const winner = doc.conflictWinners?.[field]
        const values: Array<{ v: ConflictValue | undefined; pick: string; now: boolean }> = [
          { v: winner, pick: 'winner', now: true },
          ...(doc.conflicts![field] ?? []).map((v) => ({ v, pick: v.cid as string, now: false })),
        ]
        return (
          <section key={field} className="conflict-field" aria-label={`Conflict on ${field === '_deleted' ? 'delete' : field}`}>
            <h3>{field === '_deleted' ? 'Deleted while edited elsewhere' : field}</h3>
            <div className="conflict-values">
              {values.map(({ v, pick, now }) => (
                <div key={pick} className={now ? 'conflict-value now' : 'conflict-value'} data-testid="conflict-value">
                  <div className="conflict-text">{describe(field, v, now ? doc.fields[field] : undefined)}</div>
                  <div className="muted small">
                    {v === undefined ? '' : `${v.deviceName ?? v.device.slice(-6)} · ${clock(v.time)}`}{now ? ' · shown now' : ''}
                  </div>
                  <button type="button" className="small" disabled={busy}
                    aria-label={`Keep this: ${describe(field, v, now ? doc.fields[field] : undefined)}`}
                    onClick={() => void act(field, pick)}>Keep this</button>
                </div>
              ))}
            </div>
          </section>
        )
      })}
      <ErrorText error={error} />
      <div className="actions"><button type="button" onClick={onClose}>Close</button></div>
    </Dialog>
  )
}

function describe(field: string, v: ConflictValue | undefined, current: unknown): string {
  if (field === '_deleted') {
    if (v?.fields !== undefined) return `Edited: ${Object.entries(v.fields).map(([k, x]) => `${k} = ${showValue(x)}`).join(', ')}`
    return v?.value === true ? 'Deleted' : 'Restored'
  }
  const value = v === undefined ? current : v.value
  return showValue(value) || '(empty)'
}
