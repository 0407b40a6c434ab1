/**
 * `npm start`: a headless Tandem node on a data directory. For now the node is the local database
 * (no network yet); it runs until SIGINT/SIGTERM and then closes cleanly.
 */
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { Database } from './db/database.ts'
import { defaultDataDir } from './cli/data-dir.ts'
import { isTandemError } from '../shared/errors.ts'

const USAGE = `usage: npm start -- [--data-dir DIR]

  --data-dir DIR   where the node keeps its data (default: $TANDEM_DATA_DIR or ${defaultDataDir()})
  -h, --help       show this help`

let args
try {
  args = parseArgs({ options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values
} catch (err) {
  process.stderr.write(`tandem: ${(err as Error).message}\n${USAGE}\n`)
  process.exit(2)
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}

const dataDir = resolve(args['data-dir'] ?? defaultDataDir())
let db: Database
try {
  db = await Database.open(dataDir)
} catch (err) {
  process.stderr.write(`tandem: ${isTandemError(err) ? err.message : String(err)}\n`)
  process.exit(1)
}

const collections = await db.listCollections()
process.stdout.write(`Tandem node ready\n  device ID: ${db.deviceID}\n  data dir:  ${dataDir}\n` +
  `  collections: ${collections.length === 0 ? 'none yet' : collections.map((c) => `${c.name} (${c.count})`).join(', ')}\n` +
  '  network: off (sync arrives with the sync engine)\nPress Ctrl+C to stop.\n')

let stopping = false
async function stop(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  process.stdout.write(`\n${signal}: closing the database…\n`)
  await db.close()
  process.stdout.write('stopped cleanly\n')
  process.exit(0)
}
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))
// Keep the event loop alive until a signal arrives.
setInterval(() => {}, 1 << 30)
