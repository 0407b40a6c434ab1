/** Entry of the `tandem` command (bin/tandem.js runs this on Node 22). */
import { main } from './program.ts'

await main(process.argv.slice(2))
