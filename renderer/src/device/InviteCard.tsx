/** A one-time invite: QR code and link, with copy and the time it stays valid. */
import { useEffect, useState } from 'react'
import type { InviteResult } from '../../../shared/api/index.ts'
import { api } from '../bridge/current.ts'
import { ErrorText } from '../common/ErrorText.tsx'
import { useAction } from '../common/use-action.ts'
import { CopyButton } from './CopyButton.tsx'

const TTL_MINUTES = 10

export function InviteCard() {
  const [invite, setInvite] = useState<InviteResult | null>(null)
  const [now, setNow] = useState(Date.now())
  const { busy, error, act } = useAction(async () => {
    setInvite(await api().call('pairing.invite', { ttlMinutes: TTL_MINUTES, qr: true }))
  })
  useEffect(() => {
    if (invite === null) return
    const t = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(t)
  }, [invite])
  const left = invite === null ? 0 : Math.max(0, Math.round((invite.expiresAt - now) / 1000))
  const expired = invite !== null && left === 0
  return (
    <section className="card" aria-labelledby="invite">
      <h2 id="invite">Invite a device</h2>
      <p className="muted small">Open Tandem on the other device, choose Join, and scan or paste this. It works once.</p>
      {invite !== null && !expired && (
        <>
          {invite.qrSvg !== undefined && (
            <img className="qr" alt="Invite QR code" src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(invite.qrSvg)}`} />
          )}
          <label className="field">
            <span>Invite link</span>
            <textarea className="code" readOnly rows={3} value={invite.uri} onFocus={(e) => e.target.select()} />
          </label>
          <div className="row">
            <CopyButton text={invite.uri} label="Copy invite link" />
            <span className="muted" aria-live="polite" data-testid="invite-countdown">
              Expires in {Math.floor(left / 60)}:{String(left % 60).padStart(2, '0')}
            </span>
          </div>
        </>
      )}
      {expired && <p className="muted">That invite has expired.</p>}
      <ErrorText error={error} />
      <button type="button" className={invite === null || expired ? 'primary' : ''} disabled={busy} onClick={() => void act()}>
        {invite === null ? 'Create invite' : 'New invite'}
      </button>
    </section>
  )
}
