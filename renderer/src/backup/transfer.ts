/**
 * Moving a backup between the node and the window through the contract: the node writes the file
 * (backup.download) and the window reads it in 1 MiB chunks into a Blob it offers as a download;
 * an upload goes the other way (backup.upload, backup.write …, then backup.import). The same code
 * runs in the Electron shell, where a download asks where to save (Electron's save dialog) and the
 * file input is the system's open dialog.
 */
import type { BackupDownload, BackupImportResult, BackupProgressEvent } from '../../../shared/api/index.ts'
import { api } from '../bridge/current.ts'

export type Progress = (fraction: number | null, label: string) => void

const CHUNK = 1024 * 1024

function fromBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

function toBase64(bytes: Uint8Array): string {
  let bin = ''
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(bin)
}

/** The node's progress events for this operation, as a fraction. */
function follow(op: 'export' | 'import', progress: Progress): () => void {
  return api().subscribe((event, data) => {
    if (event !== 'backup:progress') return
    const p = data as BackupProgressEvent
    if (p.op !== op) return
    const words = p.unit === 'bytes' ? `${(p.done / 1e6).toFixed(1)} of ${(p.total / 1e6).toFixed(1)} MB` : `${p.done.toLocaleString()} documents`
    progress(p.total > 0 ? p.done / p.total : null, `${p.phase === 'check' ? 'Checking' : p.phase === 'apply' ? 'Importing' : 'Writing'} · ${words}`)
  })
}

export async function downloadBackup(input: { format: 'car' | 'json'; collections?: string[] }, progress: Progress): Promise<BackupDownload> {
  const off = follow('export', progress)
  let d: BackupDownload
  try {
    progress(null, 'Writing the backup…')
    d = await api().call('backup.download', input)
  } finally {
    off()
  }
  const parts: Uint8Array<ArrayBuffer>[] = []
  for (let offset = 0; ;) {
    const r = await api().call('backup.read', { id: d.id, offset })
    const chunk = fromBase64(r.data)
    parts.push(chunk)
    offset += chunk.length
    progress(d.bytes > 0 ? offset / d.bytes : 1, `Downloading · ${(offset / 1e6).toFixed(1)} of ${(d.bytes / 1e6).toFixed(1)} MB`)
    if (r.eof) break
  }
  const url = URL.createObjectURL(new Blob(parts, { type: input.format === 'json' ? 'application/json' : 'application/vnd.ipld.car' }))
  const a = document.createElement('a')
  a.href = url
  a.download = d.name
  a.rel = 'noopener'
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
  return d
}

/** Sends the file to the node; returns the upload ID to import. */
export async function uploadBackup(file: File, progress: Progress): Promise<string> {
  if (file.size === 0) throw new Error(`${file.name} is empty.`)
  const { id } = await api().call('backup.upload', { bytes: file.size })
  for (let offset = 0; offset < file.size; offset += CHUNK) {
    const chunk = new Uint8Array(await file.slice(offset, offset + CHUNK).arrayBuffer())
    await api().call('backup.write', { id, offset, data: toBase64(chunk) })
    progress((offset + chunk.length) / file.size, `Sending · ${((offset + chunk.length) / 1e6).toFixed(1)} of ${(file.size / 1e6).toFixed(1)} MB`)
  }
  return id
}

export async function importUpload(upload: string, trustAuthors: boolean, progress: Progress): Promise<BackupImportResult> {
  const off = follow('import', progress)
  try {
    return await api().call('backup.import', { upload, ...(trustAuthors ? { trustAuthors: true } : {}) })
  } finally {
    off()
  }
}
