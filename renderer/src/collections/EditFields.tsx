/**
 * "Edit fields": a collection's current shape as SDL, to change into a new schema version, and the
 * versions so far (when, which device, what changed). The node's refusal (a type change, a required
 * field without a default, …) shows inline and nothing changes.
 */
import { useEffect, useState, type FormEvent } from 'react'
import type { CollectionInfo } from '../../../shared/types.ts'
import { api } from '../bridge/current.ts'
import { Dialog } from '../common/Dialog.tsx'
import { ErrorText } from '../common/ErrorText.tsx'
import { useAction } from '../common/use-action.ts'
import { shortID } from '../common/format.ts'
import { bumpDocs, loaders, useTandem } from '../store/store.ts'

export function EditFields({ collection, onClose }: { collection: CollectionInfo; onClose: () => void }) {
  const [sdl, setSdl] = useState(collection.sdl)
  const [described, setDescribed] = useState<CollectionInfo | null>(null)
  const devices = useTandem((s) => s.devices)
  const node = useTandem((s) => s.node)
  useEffect(() => {
    let live = true
    void api().call('collections.describe', { name: collection.name }).then((c) => { if (live) setDescribed(c) }).catch(() => {})
    return () => { live = false }
  }, [collection.name, collection.version])
  const { busy, error, act } = useAction(async () => {
    await api().call('collections.update', { sdl })
    await loaders.collections()
    bumpDocs(collection.name)
    onClose()
  })
  const submit = (e: FormEvent): void => {
    e.preventDefault()
    void act()
  }
  const deviceName = (id: string | undefined, merge: boolean): string => {
    if (merge) return 'merge of concurrent versions'
    if (id === undefined) return 'another device'
    if (id === node?.peerID) return `${node.deviceName} (this device)`
    return devices.find((d) => d.peerID === id)?.name ?? shortID(id)
  }
  const versions = described?.versions ?? []
  return (
    <Dialog title={`Edit fields of ${collection.name}`} onClose={onClose}>
      <form className="doc-form" onSubmit={submit} aria-label="Edit fields">
        <p className="muted small">
          Add fields (optional, or required with <code>@default(value: …)</code>), remove fields, or make a field optional.
          A removed field&apos;s values stay in the history and come back if you add it again with the same type.
          Changing a type or renaming is not possible: remove the field and add one with another name.
        </p>
        <label className="field">
          <span>Schema (SDL)</span>
          <textarea className="code" rows={Math.min(16, sdl.split('\n').length + 2)} value={sdl} spellCheck={false}
            aria-invalid={error !== null} onChange={(e) => setSdl(e.target.value)} />
        </label>
        <ErrorText error={error} />
        {(described?.conflicts ?? []).map((c) => (
          <p key={c.field} className="notice small" role="status">{c.message}</p>
        ))}
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || sdl.trim() === ''}>Save new version</button>
          <button type="button" onClick={onClose}>Cancel</button>
        </div>
        <h3>Versions</h3>
        <ol className="versions small" aria-label="Versions">
          {versions.map((v) => (
            <li key={v.id} aria-current={v.id === collection.version ? 'true' : undefined}>
              <span>{new Date(v.time).toLocaleString()}</span>{' · '}
              <span>{deviceName(v.author, v.merge)}</span>{' · '}
              <span>{v.changes.join('; ')}</span>{' '}
              <span className="muted" title={v.id}>{shortID(v.id, 6, 6)}{v.id === collection.version ? ' (current)' : ''}</span>
            </li>
          ))}
        </ol>
      </form>
    </Dialog>
  )
}
