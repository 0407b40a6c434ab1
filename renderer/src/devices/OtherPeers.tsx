/** Peers that are not this group's devices (relays, discovered strangers): shown, never trusted. */
import { shortID } from '../common/format.ts'
import { useTandem } from '../store/store.ts'
import { pathLabel } from './path-label.ts'

export function OtherPeers() {
  const all = useTandem((s) => s.peers)
  const peers = all.filter((p) => !p.paired)
  if (peers.length === 0) return null
  return (
    <section className="card" aria-labelledby="other-peers">
      <h2 id="other-peers">Other peers</h2>
      <table aria-label="Other peers">
        <thead><tr><th>Peer ID</th><th>Connection</th><th>Found by</th></tr></thead>
        <tbody>
          {peers.map((p) => (
            <tr key={p.peerID}>
              <td className="mono" title={p.peerID}>{shortID(p.peerID)}</td>
              <td>{pathLabel(p.connection)}{p.rttMs !== undefined ? ` · ${Math.round(p.rttMs)} ms` : ''}</td>
              <td>{p.discoveredBy.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
