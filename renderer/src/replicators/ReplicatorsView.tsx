/** Replicators: standing orders to push collections to a device, with their progress. */
import { useState } from 'react'
import { useTandem } from '../store/store.ts'
import { ReplicatorCard } from './ReplicatorCard.tsx'
import { ReplicatePicker } from './ReplicatePicker.tsx'

export function ReplicatorsView() {
  const replicators = useTandem((s) => s.replicators)
  const [picking, setPicking] = useState(false)
  return (
    <div className="stack">
      <header className="pane-head">
        <h1>Replicators</h1>
        <button type="button" onClick={() => setPicking(true)}>Replicate collection to…</button>
      </header>
      {replicators.length === 0 && <p className="muted">Nothing is replicated yet. A replicator keeps sending a collection’s changes to a device until it has them all.</p>}
      {replicators.map((r) => <ReplicatorCard key={r.target} replicator={r} />)}
      {picking && <ReplicatePicker collection={null} onClose={() => setPicking(false)} />}
    </div>
  )
}
