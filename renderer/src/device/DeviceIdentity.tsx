/** Name (renamable), peer ID and the addresses other devices can dial. */
import { useState, type FormEvent } from 'react'
import type { NodeInfo } from '../../../shared/api/index.ts'
import { api } from '../bridge/current.ts'
import { ErrorText } from '../common/ErrorText.tsx'
import { useAction } from '../common/use-action.ts'
import { useTandem } from '../store/store.ts'
import { CopyButton } from './CopyButton.tsx'

export function DeviceIdentity({ node }: { node: NodeInfo }) {
  const [name, setName] = useState(node.deviceName)
  const { busy, error, act } = useAction(async () => {
    useTandem.setState({ node: await api().call('node.setDeviceName', { name }) })
  })
  const submit = (e: FormEvent): void => {
    e.preventDefault()
    void act()
  }
  return (
    <section className="card" aria-labelledby="identity">
      <h2 id="identity">Identity</h2>
      <form className="inline" onSubmit={submit}>
        <label className="field grow">
          <span>Device name</span>
          <input value={name} maxLength={64} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit" disabled={busy || name.trim() === '' || name === node.deviceName}>Rename</button>
      </form>
      <ErrorText error={error} />
      <div className="kv">
        <span>Peer ID</span>
        <span className="mono wrap" data-testid="peer-id">{node.peerID}</span>
        <CopyButton text={node.peerID} label="Copy peer ID" />
      </div>
      <div className="kv">
        <span>Addresses</span>
        {node.addresses.length === 0 ? <span className="muted">none (offline)</span> : (
          <ul className="plain mono small">{node.addresses.map((a) => <li key={a}>{a}</li>)}</ul>
        )}
      </div>
      <p className="muted small">Tandem {node.version} · data in {node.dataDir}</p>
      {node.lastUpgrade !== null && (
        <p className="muted small" data-testid="last-upgrade">
          Data upgraded from store format {node.lastUpgrade.from} to {node.lastUpgrade.to} on {new Date(node.lastUpgrade.at).toLocaleString()} (took {(node.lastUpgrade.ms / 1000).toFixed(1)} s)
        </p>
      )}
    </section>
  )
}
