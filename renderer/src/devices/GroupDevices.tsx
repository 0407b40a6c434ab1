/** The devices paired with this one: online or when last seen, how they are connected, remove. */
import { useTandem } from '../store/store.ts'
import { ago, shortID } from '../common/format.ts'
import { pathLabel } from './path-label.ts'
import { RemoveDevice } from './RemoveDevice.tsx'

export function GroupDevices() {
  const devices = useTandem((s) => s.devices)
  const peers = useTandem((s) => s.peers)
  return (
    <section className="card" aria-labelledby="group-devices">
      <h2 id="group-devices">Your devices</h2>
      {devices.length === 0 ? (
        <p className="muted">No other device yet. Pair one from This device (invite) or from Nearby below.</p>
      ) : (
        <table aria-label="Group devices">
          <thead><tr><th>Name</th><th>Peer ID</th><th>Status</th><th>Connection</th><th><span className="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {devices.map((d) => (
              <tr key={d.peerID} data-peer={d.peerID}>
                <td>{d.name}</td>
                <td className="mono" title={d.peerID}>{shortID(d.peerID)}</td>
                <td>
                  <span className={d.online ? 'pill good' : 'pill muted'}>{d.online ? 'Online' : 'Offline'}</span>
                  {!d.online && <span className="muted small"> last seen {ago(d.lastSeen)}</span>}
                </td>
                <td>{pathLabel(peers.find((p) => p.peerID === d.peerID)?.connection)}</td>
                <td><RemoveDevice peerID={d.peerID} name={d.name} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
