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
  path: PathInput,
  /** Trust the authors the backup's manifest names, for its blocks only (they are not made members). */
  trustAuthors: z.boolean().optional(),
}).strict()

export const backupCalls = {
  'backup.export': call<BackupExportResult>()('Write a backup file: car (full history, default) or json (current documents), of every collection or the ones named.', BackupExportInput),
  'backup.import': call<BackupImportResult>()('Check a backup file whole, then merge it into this device (car: same documents and history; json: documents as new ones).', BackupImportInput),
}
