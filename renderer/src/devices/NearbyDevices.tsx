/**
 * Devices found on the local network, and "Pair nearby". Names found nearby are only hints (anyone
 * can claim any name), so pairing rests on a code: the device that asks shows it, and the person
 * types it on the other. This device takes requests only while its person has opened "Let a nearby
 * device pair" here — for 3 minutes, and only while this page is open.
 */
import { useEffect, useRef, useState } from 'react'
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
      <PairNearby />
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
      <p className="muted small">Pair asks that device; it must have “Let a nearby device pair” open. This device then shows a code to type there.</p>
      <ErrorText error={error} />
    </section>
  )
}

/** "Let a nearby device pair": opens this device to requests, with a countdown; closes on Stop or when the page is left. */
function PairNearby() {
  const mode = useTandem((s) => s.pairingMode)
  const name = useTandem((s) => s.node?.deviceName)
  const [, tick] = useState(0) // re-renders each second for the countdown
  const openedHere = useRef(false)
  const { busy, error, act } = useAction(async (open: boolean) => {
    const next = await api().call(open ? 'pairing.open' : 'pairing.close')
    openedHere.current = open
    useTandem.setState({ pairingMode: next })
  })
  useEffect(() => {
    if (!mode.open) return
    const t = setInterval(() => tick((n) => n + 1), 1000)
    return () => clearInterval(t)
  }, [mode.open])
  // Leaving the page closes what this page opened.
  useEffect(() => () => {
    if (openedHere.current) void api().call('pairing.close').then((m) => useTandem.setState({ pairingMode: m })).catch(() => {})
  }, [])
  const left = mode.until === null ? 0 : Math.max(0, Math.ceil((mode.until - Date.now()) / 1000))
  return (
    <div className="pair-nearby">
      {mode.open
        ? (
          <>
            <p role="status">
              <strong>Taking pairing requests</strong> for <span data-testid="pairing-countdown">{Math.floor(left / 60)}:{String(left % 60).padStart(2, '0')}</span>.
              {' '}On the other device, choose Pair next to {name === undefined ? 'this device' : <>“{name}”</>}, then type here the code it shows.
            </p>
            <button type="button" disabled={busy} onClick={() => void act(false)}>Stop taking requests</button>
          </>
        )
        : (
          <>
            <p className="muted small">This device refuses pairing requests unless you let a device pair, for 3 minutes at a time.</p>
            <button type="button" className="primary" disabled={busy} onClick={() => void act(true)}>Let a nearby device pair</button>
          </>
        )}
      <ErrorText error={error} />
    </div>
  )
}
