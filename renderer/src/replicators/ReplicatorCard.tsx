/** One replicator: target device, scope, connection, pending changes, initial sync progress, last error. */
import type { ReplicatorInfo } from '../../../shared/api/index.ts'
import { api } from '../bridge/current.ts'
import { ErrorText } from '../common/ErrorText.tsx'
import { ago, shortID } from '../common/format.ts'
import { useAction } from '../common/use-action.ts'
import { loaders, useTandem } from '../store/store.ts'

export function ReplicatorCard({ replicator: r }: { replicator: ReplicatorInfo }) {
  const devices = useTandem((s) => s.devices)
  const collections = useTandem((s) => s.collections)
  const name = devices.find((d) => d.peerID === r.target)?.name ?? shortID(r.target)
  const scope = [
    ...r.collections.map((id) => collections.find((c) => c.id === id)?.name ?? shortID(id)),
    ...(r.documents.length > 0 ? [`${r.documents.length} single ${r.documents.length === 1 ? 'document' : 'documents'}`] : []),
  ]
  const { total, done, state } = r.initialSync
  const percent = total === 0 ? (state === 'done' ? 100 : 0) : Math.floor((done / total) * 100)
  const { busy, error, act } = useAction(async () => {
    await api().call('replicators.delete', { target: r.target })
    await loaders.replicators()
  })
  return (
    <section className="card replicator" aria-label={`Replicator to ${name}`}>
      <header className="pane-head">
        <h2>To {name}</h2>
        <button type="button" className="small danger" disabled={busy} aria-label={`Remove replicator to ${name}`} onClick={() => void act()}>Remove</button>
      </header>
      <p>{scope.join(', ') || 'Nothing yet'}</p>
      <div className="rep-grid">
        <span className={r.connected ? 'pill good' : 'pill muted'}>{r.connected ? 'Connected' : 'Waiting for the device'}</span>
        <span data-testid="rep-pending">{r.pending === 0 ? 'Nothing pending' : `${r.pending} pending`}</span>
        <span className="muted">Last confirmed {ago(r.lastAck)}</span>
      </div>
      <label className="progress-line">
        <span>{state === 'done' ? 'Initial sync complete' : state === 'running' ? 'Initial sync' : 'Initial sync waiting'}</span>
        <progress max={100} value={percent} aria-label={`Initial sync to ${name}`} aria-valuetext={`${percent}%`} />
        <span data-testid="rep-percent">{percent}%</span>
      </label>
      {r.lastError !== null && <p className="error small">Last error: {r.lastError}</p>}
      <ErrorText error={error} />
    </section>
  )
}
