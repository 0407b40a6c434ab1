/**
 * Pairing requests: compare the code on both screens, then accept or decline. Both people accept,
 * the one who asked too (after comparing codes): a look-alike device that accepts at once is not
 * enough to join the group.
 */
import { useState } from 'react'
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
        {requests.map((r) => <RequestRow key={r.id} request={r} />)}
      </ul>
    </section>
  )
}

function RequestRow({ request: r }: { request: PairingRequest }) {
  const who = r.name ?? shortID(r.peerID)
  const [accepted, setAccepted] = useState(false)
  const { busy, error, act } = useAction(async (accept: boolean) => {
    await api().call(accept ? 'pairing.accept' : 'pairing.decline', { id: r.id })
    if (accept) setAccepted(true)
    await Promise.all([loaders.requests(), loaders.devices()])
  })
  return (
    <li className="request">
      {r.direction === 'incoming'
        ? <p><strong>{who}</strong> wants to pair. Pair only if it shows the same code:</p>
        : <p>Pairing with <strong>{who}</strong>. Accept only if it shows the same code:</p>}
      <p className="code" aria-label="Pairing code">{r.code}</p>
      {accepted
        ? <p>Accepted here. Waiting for <strong>{who}</strong> to accept too…</p>
        : (
          <div className="actions">
            <button type="button" className="primary" disabled={busy} onClick={() => void act(true)}>Accept</button>
            <button type="button" disabled={busy} onClick={() => void act(false)}>{r.direction === 'incoming' ? 'Decline' : 'Cancel'}</button>
          </div>
        )}
      <ErrorText error={error} />
    </li>
  )
}
