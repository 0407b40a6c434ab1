/** Always visible: is this device online, how many of its devices are connected, what waits to go out. */
import { useTandem } from '../store/store.ts'
import { SyncSummary } from '../views/SyncSummary.tsx'

export function StatusBar() {
  const link = useTandem((s) => s.link)
  const node = useTandem((s) => s.node)
  const problem = useTandem((s) => s.problem)
  const collections = useTandem((s) => s.collections)
  const conflicted = collections.filter((c) => (c.conflictedDocs ?? 0) > 0)
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
      {conflicted.length > 0 && <span className="pill warn" data-testid="conflicts">{conflictText(conflicted.map((c) => [c.name, c.conflictedDocs!]))}</span>}
      {problem !== null && link === 'up' && <span className="status-problem" title={problem}>{problem}</span>}
    </footer>
  )
}

/** "2 notes have conflicting edits" (one collection), else "3 documents have conflicting edits". */
export function conflictText(list: Array<[string, number]>): string {
  const n = list.reduce((s, [, k]) => s + k, 0)
  let noun = n === 1 ? 'document' : 'documents'
  if (list.length === 1) {
    const name = list[0]![0].toLowerCase()
    noun = n === 1 && name.endsWith('s') ? name.slice(0, -1) : name
  }
  return `${n} ${noun} ${n === 1 ? 'has' : 'have'} conflicting edits`
}
