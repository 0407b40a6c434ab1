/**
 * Backup and restore: a car (every block of the chosen collections, full history, signatures
 * kept) or a json (current documents, DefraDB-like). Paths are on the node's machine (the API is
 * loopback only); the CLI passes absolute paths. Browser-safe.
 */
import { z } from 'zod'
import { call, CollectionInput } from './define.ts'

const PathInput = z.string().min(1).max(4096).refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'an absolute path')

export interface BackupCollectionInfo { id: string; name: string; docs: number; blocks: number }
export interface BackupExportResult {
  path: string
  format: 'car' | 'json'
  bytes: number
  collections: BackupCollectionInfo[]
  /** The devices whose changes the file holds (car), with their names as this device knows them. */
  authors: Array<{ id: string; name: string }>
}
export interface BackupImportResult {
  format: 'car' | 'json'
  /** Per collection: documents new here, and documents already here. */
  collections: Array<{ name: string; imported: number; already: number }>
  blocks?: { applied: number; already: number }
  trustedAuthors?: Array<{ id: string; name: string }>
  /** "Imported 2,000 documents into Books; 12 already here." */
  summary: string
}
export interface BackupProgressEvent {
  op: 'export' | 'import'
  phase: 'write' | 'check' | 'apply'
  done: number
  total: number
  unit: 'docs' | 'bytes'
}

export const BackupExportInput = z.object({
  path: PathInput,
  format: z.enum(['car', 'json']).optional(),
  collections: z.array(CollectionInput).max(10_000).optional(),
}).strict()

export const BackupImportInput = z.object({
  /** A file on the node's machine, or `upload`: a file the window sent with backup.upload/backup.write. */
  path: PathInput.optional(),
  upload: z.string().regex(/^[0-9a-f]{32}$/, 'an upload ID from backup.upload').optional(),
  /** Trust the authors the backup's manifest names, for its blocks only (they are not made members). */
  trustAuthors: z.boolean().optional(),
}).strict().refine((o) => (o.path === undefined) !== (o.upload === undefined), 'either a path or an upload ID')

/** A transfer's ID (backup.download / backup.upload). */
const TransferID = z.string().regex(/^[0-9a-f]{32}$/, 'a transfer ID')
/** At most this many bytes per chunk of a transfer (base64 in a frame well under MAX_FRAME_BYTES). */
export const TRANSFER_CHUNK = 1024 * 1024

export interface BackupDownload { id: string; name: string; bytes: number; result: BackupExportResult }

export const backupCalls = {
  'backup.download': call<BackupDownload>()('Write a backup for the window to download: read it with backup.read (it is deleted once read, or after 15 minutes).',
    z.object({ format: z.enum(['car', 'json']).optional(), collections: z.array(CollectionInput).max(10_000).optional() }).strict()),
  'backup.read': call<{ data: string; eof: boolean }>()('One chunk (base64, at most 1 MiB) of a backup.download from a byte offset.',
    z.object({ id: TransferID, offset: z.number().int().min(0) }).strict()),
  'backup.upload': call<{ id: string }>()('Begin sending a backup file from the window (then backup.write its chunks in order, then backup.import with upload).',
    z.object({ bytes: z.number().int().min(1).max(64 * 1024 ** 3) }).strict()),
  'backup.write': call<{ received: number }>()('One chunk (base64, at most 1 MiB) of a backup.upload, at the offset received so far.',
    z.object({ id: TransferID, offset: z.number().int().min(0), data: z.string().max(Math.ceil(TRANSFER_CHUNK / 3) * 4) }).strict()),
  'backup.export': call<BackupExportResult>()('Write a backup file: car (full history, default) or json (current documents), of every collection or the ones named.', BackupExportInput),
  'backup.import': call<BackupImportResult>()('Check a backup file whole, then merge it into this device (car: same documents and history; json: documents as new ones).', BackupImportInput),
}
