/** Where a node keeps its data when no --data-dir is given: TANDEM_DATA_DIR, else the OS convention. */
import { homedir, platform } from 'node:os'
import { join } from 'node:path'

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TANDEM_DATA_DIR) return env.TANDEM_DATA_DIR
  const home = homedir()
  switch (platform()) {
    case 'darwin': return join(home, 'Library', 'Application Support', 'tandem')
    case 'win32': return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'tandem')
    default: return join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'tandem')
  }
}
