/** "Replicate collection to…": choose a collection (unless given) and one of this group's devices. */
import { useState, type FormEvent } from 'react'
import { api } from '../bridge/current.ts'
import { Dialog } from '../common/Dialog.tsx'
import { ErrorText } from '../common/ErrorText.tsx'
import { shortID } from '../common/format.ts'
import { useAction } from '../common/use-action.ts'
import { loaders, useTandem } from '../store/store.ts'

export function ReplicatePicker({ collection, onClose }: { collection: string | null; onClose: () => void }) {
  const devices = useTandem((s) => s.devices)
  const collections = useTandem((s) => s.collections)
  const [chosenCollection, setCollection] = useState(collection ?? collections[0]?.name ?? '')
  const [target, setTarget] = useState<string | null>(null)
  const { busy, error, act } = useAction(async () => {
    if (target === null) return
    await api().call('replicators.set', { target, collections: [chosenCollection] })
    await loaders.replicators()
    onClose()
  })
  const submit = (e: FormEvent): void => {
    e.preventDefault()
    void act()
  }
  return (
    <Dialog title={collection === null ? 'Replicate collection to…' : `Replicate ${collection} to…`} onClose={onClose}>
      <form onSubmit={submit} className="picker">
        {collection === null && (
          <label className="field">
            <span>Collection</span>
            <select value={chosenCollection} onChange={(e) => setCollection(e.target.value)}>
              {collections.map((c) => <option key={c.id} value={c.name}>{c.name}</option>)}
            </select>
          </label>
        )}
        <fieldset>
          <legend>Device</legend>
          {devices.length === 0 && <p className="muted">No paired device yet: pair one first (This device → Invite).</p>}
          {devices.map((d) => (
            <label key={d.peerID} className="radio">
              <input type="radio" name="target" value={d.peerID} checked={target === d.peerID} onChange={() => setTarget(d.peerID)} />
              <span>{d.name}</span>
              <span className={d.online ? 'pill good' : 'pill muted'}>{d.online ? 'online' : 'offline'}</span>
              <span className="mono muted small">{shortID(d.peerID)}</span>
            </label>
          ))}
        </fieldset>
        <ErrorText error={error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || target === null || chosenCollection === ''}>Replicate</button>
          <button type="button" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  )
}
