import { resolve } from 'node:path'
import type { Command } from 'commander'
import type { BackupProgressEvent } from '../../../shared/api/index.ts'
import { TandemError } from '../../../shared/errors.ts'
import type { ApiClient } from '../../api/ws-client.ts'
import { action } from './run.ts'

/** Progress on stderr when it is a terminal: one line, rewritten. */
async function withProgress<T>(api: ApiClient, run: () => Promise<T>): Promise<T> {
  if (process.stderr.isTTY !== true) return run()
  await api.subscribe(['backup:progress'])
  const off = api.onEvent<'backup:progress'>((event, p: BackupProgressEvent) => {
    if (event !== 'backup:progress') return
    const what = p.unit === 'bytes' ? `${(p.done / 1e6).toFixed(1)} of ${(p.total / 1e6).toFixed(1)} MB` : `${p.done.toLocaleString('en-US')}${p.total > 0 ? ` of ${p.total.toLocaleString('en-US')}` : ''} documents`
    const pct = p.total > 0 ? ` ${Math.min(100, Math.floor((p.done / p.total) * 100))}%` : ''
    process.stderr.write(`\r${p.op} ${p.phase}:${pct} ${what}   `)
  })
  try {
    return await run()
  } finally {
    off()
    process.stderr.write('\n')
  }
}

export function backupCommands(client: Command): void {
  const b = client.command('backup').description('Export this device\'s data to a file, and import (restore) one.')
  b.command('export').argument('<file>', 'where to write the backup (written beside it, then renamed into place)')
    .option('--format <format>', 'car (every block: full history, signatures; the default) or json (current documents)', 'car')
    .option('--collections <names>', 'only these collections, comma-separated (default: all)')
    .description('Write a backup; prints what it holds (JSON). Progress on stderr on a terminal.')
    .action(action(async (api, file: string, o: { format: string; collections?: string }) => {
      if (o.format !== 'car' && o.format !== 'json') throw new TandemError('INVALID_INPUT', `--format is car or json, not "${o.format}".`)
      const collections = o.collections?.split(',').map((s) => s.trim()).filter((s) => s !== '')
      if (collections !== undefined && collections.length === 0) throw new TandemError('INVALID_INPUT', '--collections names no collection.')
      return withProgress(api, () => api.call('backup.export', {
        path: resolve(file), format: o.format as 'car' | 'json', ...(collections !== undefined ? { collections } : {}),
      }))
    }))
  b.command('import').argument('<file>', 'a car or json backup')
    .option('--trust-authors', 'accept changes by the devices the backup\'s manifest names, though they are not in this group (your own older devices)')
    .description('Check the whole file, then merge it into this device; prints the summary on stderr and the result (JSON).')
    .action(action(async (api, file: string, o: { trustAuthors?: boolean }) => {
      const r = await withProgress(api, () => api.call('backup.import', { path: resolve(file), ...(o.trustAuthors === true ? { trustAuthors: true } : {}) }))
      process.stderr.write(`${r.summary}\n`)
      return r
    }))
}
