/** Always visible: is this device online, how many of its devices are connected, what waits to go out. */
import { useTandem } from '../store/store.ts'
import { SyncSummary } from '../views/SyncSummary.tsx'

export function StatusBar() {
  const link = useTandem((s) => s.link)
  const node = useTandem((s) => s.node)
  const problem = useTandem((s) => s.problem)
  let state: { text: string; tone: string }
  if (link !== 'up') state = { text: link === 'connecting' ? 'Connecting to the node…' : 'Node not reachable — retrying', tone: 'bad' }
  else if (node === null) state = { text: 'Loading…', tone: 'muted' }
  else if (node.network === 'off') state = { text: 'Network off', tone: 'bad' }
  else if (node.paused) state = { text: 'Offline', tone: 'warn' }
  else state = { text: node.syncing ? 'Online · syncing' : 'Online', tone: 'good' }
  return (
    <footer className="statusbar" role="status" aria-label="Sync status">
      <span className={`pill ${state.tone}`} data-testid="network-state">{state.text}</span>
      {node !== null && (
        <>
          <span data-testid="connected-devices">
            {node.connectedDevices} {node.connectedDevices === 1 ? 'device' : 'devices'} connected
          </span>
          <span data-testid="pending-outgoing">
            {node.pendingOutgoing === 0 ? 'All changes sent' : `${node.pendingOutgoing} ${node.pendingOutgoing === 1 ? 'change' : 'changes'} waiting to send`}
          </span>
        </>
      )}
      {link === 'up' && node !== null && node.network !== 'off' && <SyncSummary />}
      {problem !== null && link === 'up' && <span className="status-problem" title={problem}>{problem}</span>}
    </footer>
  )
}
