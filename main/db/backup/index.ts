/** Backup and restore (format.ts): export a car or json file, import either (told apart by content). */
import { open } from 'node:fs/promises'
import type { BackupContext } from './export.ts'
import { fileSize, importCar, type ImportOptions, type ImportResult } from './import-car.ts'
import { importJson } from './import-json.ts'

export { exportCar, exportJson, type BackupContext, type BackupFormat, type BackupProgress, type ExportResult } from './export.ts'
export type { ImportOptions, ImportResult, ImportedCollection } from './import-car.ts'

/** Imports a backup: a json one when it starts with `{` (after white space), else a car. */
export async function importBackup(ctx: BackupContext, path: string, options: ImportOptions): Promise<ImportResult> {
  await fileSize(path)
  const fh = await open(path, 'r')
  let head: string
  try {
    const buf = new Uint8Array(64)
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0)
    head = new TextDecoder().decode(buf.subarray(0, bytesRead)).trimStart()
  } finally {
    await fh.close()
  }
  return head.startsWith('{') ? importJson(ctx, path) : importCar(ctx, path, options)
}
