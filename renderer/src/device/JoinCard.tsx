/** Join another device's group: paste its invite link, or load/drop a picture of its QR code. */
import { useCallback, useState, type DragEvent, type FormEvent } from 'react'
import { ApiCallError } from '../../../shared/api/errors.ts'
import { api } from '../bridge/current.ts'
import { Dialog } from '../common/Dialog.tsx'
import { ErrorText } from '../common/ErrorText.tsx'
import { useAction } from '../common/use-action.ts'
import { loadAll } from '../store/store.ts'
import { decodeQrFile } from './qr-decode.ts'
import { CameraScan } from './CameraScan.tsx'

/** What the node said when the join would merge two groups (MERGE_NOT_CONFIRMED's details). */
interface Merge {
  uri: string
  devices: string[]
  inviter: string
}

function mergeOf(err: unknown, uri: string): Merge | null {
  if (!(err instanceof ApiCallError) || err.code !== 'MERGE_NOT_CONFIRMED') return null
  const d = err.details as { devices?: Array<{ name?: unknown; peerID?: unknown }>; inviter?: { name?: unknown; peerID?: unknown } }
  const devices = (d.devices ?? []).map((x) => (typeof x.name === 'string' && x.name !== '' ? x.name : String(x.peerID ?? '?')))
  const inviter = typeof d.inviter?.name === 'string' && d.inviter.name !== '' ? d.inviter.name : 'the inviting device'
  return { uri, devices, inviter }
}

export function JoinCard() {
  const [uri, setUri] = useState('')
  const [joined, setJoined] = useState<string | null>(null)
  const [over, setOver] = useState(false)
  const [merge, setMerge] = useState<Merge | null>(null)
  const { busy, error, setError, act } = useAction(async (mergeGroups: boolean) => {
    const link = mergeGroups && merge !== null ? merge.uri : uri.trim()
    try {
      const inviter = await api().call('pairing.join', { uri: link, ...(mergeGroups ? { mergeGroups: true } : {}) })
      setJoined(inviter.name)
      setUri('')
    } catch (err) {
      // This device has devices already: nothing happened yet; ask before merging the two groups.
      const asking = mergeGroups ? null : mergeOf(err, link)
      if (asking === null) throw err
      setMerge(asking)
      return
    } finally {
      if (mergeGroups) setMerge(null)
    }
    await loadAll()
  })
  const submit = (e: FormEvent): void => {
    e.preventDefault()
    setJoined(null)
    void act(false)
  }
  const readImage = async (file: File | undefined): Promise<void> => {
    if (file === undefined) return
    setError(null)
    try {
      const text = await decodeQrFile(file)
      if (text === null) setError('No QR code found in that picture. Try a sharper or closer one.')
      else setUri(text)
    } catch {
      setError('That file is not a picture this window can read (use PNG or JPEG).')
    }
  }
  const scanned = useCallback((text: string) => setUri(text), [])
  const drop = (e: DragEvent): void => {
    e.preventDefault()
    setOver(false)
    void readImage(e.dataTransfer.files[0])
  }
  return (
    <section className="card" aria-labelledby="join">
      <h2 id="join">Join a device</h2>
      <form onSubmit={submit}>
        <div
          className={over ? 'dropzone over' : 'dropzone'}
          onDragOver={(e) => { e.preventDefault(); setOver(true) }}
          onDragLeave={() => setOver(false)}
          onDrop={drop}
        >
          <label className="field">
            <span>Invite link from the other device</span>
            <textarea className="code" rows={3} value={uri} placeholder="tandem://pair?…" spellCheck={false} onChange={(e) => setUri(e.target.value)} />
          </label>
          <label className="file">
            <span>…or load a picture of its QR code (or drop it here)</span>
            <input type="file" accept="image/*" onChange={(e) => void readImage(e.target.files?.[0])} />
          </label>
          <CameraScan onFound={scanned} />
        </div>
        <ErrorText error={merge === null ? error : null} />
        {joined !== null && <p className="ok" role="status">Joined — paired with {joined}.</p>}
        <button type="submit" className="primary" disabled={busy || uri.trim() === ''}>{busy ? 'Joining…' : 'Join'}</button>
      </form>
      {merge !== null && (
        <Dialog title="Merge two groups?" onClose={() => setMerge(null)}>
          <p>
            This device already syncs with <strong>{merge.devices.join(', ')}</strong>. The invite is
            from <strong>{merge.inviter}</strong>, of another group.
          </p>
          <p>
            Joining merges the two groups: {merge.devices.join(', ')} and {merge.inviter}, with every
            device of its group, will all sync everything with each other. Do this only if all of these
            devices are yours and the invite came from your own device.
          </p>
          <div className="actions">
            <button type="button" className="danger" disabled={busy} onClick={() => void act(true)}>Merge groups</button>
            <button type="button" disabled={busy} onClick={() => setMerge(null)}>Cancel</button>
          </div>
        </Dialog>
      )}
    </section>
  )
}
