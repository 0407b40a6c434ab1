/** Devices found on the local network; their names are only hints, so pairing compares a code. */
import { api } from '../bridge/current.ts'
import { ErrorText } from '../common/ErrorText.tsx'
import { shortID } from '../common/format.ts'
import { useAction } from '../common/use-action.ts'
import { loaders, useTandem } from '../store/store.ts'

export function NearbyDevices() {
  const nearby = useTandem((s) => s.nearby)
  const devices = useTandem((s) => s.devices)
  const unpaired = nearby.filter((n) => !devices.some((d) => d.peerID === n.peerID))
  const { busy, error, act } = useAction(async (peerID: string) => {
    await api().call('pairing.request', { peerID })
    await loaders.requests()
  })
  return (
    <section className="card" aria-labelledby="nearby">
      <h2 id="nearby">Nearby</h2>
      {unpaired.length === 0 ? <p className="muted">No unpaired Tandem device found on this network.</p> : (
        <ul className="plain">
          {unpaired.map((n) => (
            <li key={n.peerID} className="row">
              <span>{n.name ?? 'Unnamed device'} <span className="mono muted small">{shortID(n.peerID)}</span></span>
              <button type="button" disabled={busy} aria-label={`Pair with ${n.name ?? n.peerID}`} onClick={() => void act(n.peerID)}>Pair</button>
            </li>
          ))}
        </ul>
      )}
      <ErrorText error={error} />
    </section>
  )
}
