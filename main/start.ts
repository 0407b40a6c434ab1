/**
 * `node main/start.ts [flags]` = `tandem start [flags]` (kept for scripts that ran the old headless
 * entry; `npm start` runs bin/tandem.js start). See main/cli/start.ts.
 */
import { main } from './cli/program.ts'

await main(['start', ...process.argv.slice(2)])
