/** Join another device's group: paste its invite link, or load/drop a picture of its QR code. */
import { useCallback, useState, type DragEvent, type FormEvent } from 'react'
import { api } from '../bridge/current.ts'
import { ErrorText } from '../common/ErrorText.tsx'
import { useAction } from '../common/use-action.ts'
import { loadAll } from '../store/store.ts'
import { decodeQrFile } from './qr-decode.ts'
import { CameraScan } from './CameraScan.tsx'

export function JoinCard() {
  const [uri, setUri] = useState('')
  const [joined, setJoined] = useState<string | null>(null)
  const [over, setOver] = useState(false)
  const { busy, error, setError, act } = useAction(async () => {
    const inviter = await api().call('pairing.join', { uri: uri.trim() })
    setJoined(inviter.name)
    setUri('')
    await loadAll()
  })
  const submit = (e: FormEvent): void => {
    e.preventDefault()
    void act()
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
        <ErrorText error={error} />
        {joined !== null && <p className="ok" role="status">Joined — paired with {joined}.</p>}
        <button type="submit" className="primary" disabled={busy || uri.trim() === ''}>{busy ? 'Joining…' : 'Join'}</button>
      </form>
    </section>
  )
}
