/**
 * Export… and Import… for the whole store (This device) or one collection: a progress bar while
 * it runs, the import's summary after ("Imported 2,000 documents into Books; 12 already here"),
 * and, when the file holds changes by devices not in this group, a confirmation naming them.
 */
import { useRef, useState } from 'react'
import { ErrorText } from '../common/ErrorText.tsx'
import { humanError } from '../common/human-error.ts'
import { downloadBackup, importUpload, uploadBackup } from './transfer.ts'

interface Running { fraction: number | null; label: string }

export function BackupActions({ collection }: { collection?: string }) {
  const [format, setFormat] = useState<'car' | 'json'>('car')
  const [running, setRunning] = useState<Running | null>(null)
  const [done, setDone] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [untrusted, setUntrusted] = useState<{ upload: string; message: string } | null>(null)
  const input = useRef<HTMLInputElement>(null)
  const progress = (fraction: number | null, label: string): void => setRunning({ fraction, label })
  const start = (): void => { setError(null); setDone(null); setUntrusted(null); setRunning({ fraction: null, label: 'Starting…' }) }

  const exportIt = async (): Promise<void> => {
    start()
    try {
      const d = await downloadBackup({ format, ...(collection !== undefined ? { collections: [collection] } : {}) }, progress)
      const docs = d.result.collections.reduce((s, c) => s + c.docs, 0)
      setDone(`Exported ${docs.toLocaleString('en-US')} documents to ${d.name}.`)
    } catch (err) {
      setError(humanError(err))
    } finally {
      setRunning(null)
    }
  }
  const runImport = async (upload: string, trust: boolean): Promise<void> => {
    try {
      const r = await importUpload(upload, trust, progress)
      setDone(r.summary)
    } catch (err) {
      const code = (err as { code?: string }).code
      if (code === 'UNTRUSTED_AUTHOR' && !trust) setUntrusted({ upload, message: (err as Error).message })
      else setError(humanError(err))
    }
  }
  const importIt = async (file: File): Promise<void> => {
    start()
    try {
      const upload = await uploadBackup(file, progress)
      await runImport(upload, false)
    } catch (err) {
      setError(humanError(err))
    } finally {
      setRunning(null)
      if (input.current !== null) input.current.value = ''
    }
  }
  const trust = async (): Promise<void> => {
    const u = untrusted!
    start()
    await runImport(u.upload, true)
    setRunning(null)
  }

  return (
    <div className="backup" aria-label={collection === undefined ? 'Backup of this device' : `Backup of ${collection}`}>
      <div className="row">
        <label>
          Format{' '}
          <select value={format} onChange={(e) => setFormat(e.target.value as 'car' | 'json')} disabled={running !== null}>
            <option value="car">car — full history (restore)</option>
            <option value="json">json — current documents</option>
          </select>
        </label>
        <span>
          <button type="button" disabled={running !== null} onClick={() => void exportIt()}>Export…</button>{' '}
          <button type="button" disabled={running !== null} onClick={() => input.current?.click()}>Import…</button>
          <input ref={input} type="file" hidden accept=".car,.json,application/json" aria-label="Backup file to import"
            onChange={(e) => { const f = e.target.files?.[0]; if (f !== undefined) void importIt(f) }} />
        </span>
      </div>
      {running !== null && (
        <div className="progress-line" role="status">
          <span>{running.label}</span>
          <progress max={1} {...(running.fraction !== null ? { value: running.fraction } : {})} aria-label="Backup progress" />
          <span>{running.fraction !== null ? `${Math.floor(running.fraction * 100)}%` : ''}</span>
        </div>
      )}
      {untrusted !== null && (
        <div className="notice" role="alertdialog" aria-label="Trust the backup's authors?">
          <p>{untrusted.message}</p>
          <p className="small">Trusting them accepts this file's changes by those devices as history; it does not make them devices of your group.</p>
          <button type="button" className="primary" onClick={() => void trust()}>Trust them and import</button>{' '}
          <button type="button" onClick={() => setUntrusted(null)}>Cancel</button>
        </div>
      )}
      {done !== null && <p className="backup-summary" role="status">{done}</p>}
      <ErrorText error={error} />
    </div>
  )
}

/** This device's card: the whole store. */
export function BackupCard() {
  return (
    <section className="card" aria-labelledby="backup">
      <h2 id="backup">Backup</h2>
      <p className="muted small">Export every collection to a file you keep; import one to restore or merge it here.</p>
      <BackupActions />
    </section>
  )
}
