/**
 * Pairing requests. Incoming: the person types the code the other device shows (it is not shown
 * here: this device does not know it); the name is what that device calls itself, unverified.
 * Outgoing: this device shows its code, to be typed on the other one.
 */
import { useState, type FormEvent } from 'react'
import type { PairingRequest } from '../../../shared/api/index.ts'
import { api } from '../bridge/current.ts'
import { ErrorText } from '../common/ErrorText.tsx'
import { shortID } from '../common/format.ts'
import { useAction } from '../common/use-action.ts'
import { loaders } from '../store/store.ts'

export function PairingRequests({ requests }: { requests: PairingRequest[] }) {
  return (
    <section className="card attention" aria-labelledby="pairing-requests">
      <h2 id="pairing-requests">Pairing requests</h2>
      <ul className="plain">
        {requests.map((r) => (r.direction === 'incoming' ? <IncomingRow key={r.id} request={r} /> : <OutgoingRow key={r.id} request={r} />))}
      </ul>
    </section>
  )
}

/** The other device by the name it gives itself, marked unverified. */
function Claimed({ request: r, start = false }: { request: PairingRequest; start?: boolean }) {
  const a = start ? 'A' : 'a'
  return r.claimedName === undefined
    ? <>{a} device (<span className="mono">{shortID(r.peerID)}</span>)</>
    : <>{a} device that calls itself <strong>“{r.claimedName}”</strong> <span className="muted">(unverified)</span></>
}

function IncomingRow({ request: r }: { request: PairingRequest }) {
  const [code, setCode] = useState('')
  const who = r.claimedName ?? 'the other device'
  const { busy, error, act } = useAction(async (accept: boolean) => {
    if (accept) await api().call('pairing.accept', { id: r.id, code: code.replace(/[\s-]/g, '') })
    else await api().call('pairing.decline', { id: r.id })
    await Promise.all([loaders.requests(), loaders.devices()])
  })
  const submit = (e: FormEvent): void => {
    e.preventDefault()
    void act(true).then((ok) => { if (!ok) setCode('') })
  }
  return (
    <li className="request">
      <p><Claimed request={r} start /> wants to pair with this device. Pair only with a device you have in hand: type the code it shows.</p>
      <form className="row" onSubmit={submit}>
        <label className="field">
          <span>Code shown on {who}</span>
          <input inputMode="numeric" autoComplete="off" maxLength={7} required value={code}
            onChange={(e) => setCode(e.target.value)} placeholder="123456" />
        </label>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>Check code and pair</button>
          <button type="button" disabled={busy} onClick={() => void act(false)}>Decline</button>
        </div>
      </form>
      {r.triesLeft < 3 && error === null && <p className="muted small">{r.triesLeft} {r.triesLeft === 1 ? 'try' : 'tries'} left.</p>}
      <ErrorText error={error} />
    </li>
  )
}

function OutgoingRow({ request: r }: { request: PairingRequest & { direction: 'outgoing' } }) {
  const { busy, error, act } = useAction(async () => {
    await api().call('pairing.decline', { id: r.id })
    await loaders.requests()
  })
  return (
    <li className="request">
      <p>Asked <Claimed request={r} /> to pair. On it, type this code:</p>
      <p className="code" aria-label="Pairing code">{r.code}</p>
      <p className="muted small" aria-live="polite">
        {r.triesLeft < 3 ? `A wrong code was typed there: ${r.triesLeft} ${r.triesLeft === 1 ? 'try' : 'tries'} left.` : 'Waiting for the code to be typed there…'}
      </p>
      <div className="actions">
        <button type="button" disabled={busy} onClick={() => void act()}>Cancel</button>
      </div>
      <ErrorText error={error} />
    </li>
  )
}
