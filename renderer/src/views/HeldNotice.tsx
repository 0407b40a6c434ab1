/**
 * The mass-delete guard's notice: when another device deleted a large share of a collection, the
 * node holds those deletions (the documents stay) and this banner asks what to do — keep the
 * deletions (sync.release) or restore the documents on every device (sync.reject). Refreshed on
 * sync:held events, and every few seconds (events are lost while the link is down).
 */
import { useEffect, useState } from 'react'
import type { HeldBatchInfo } from '../../../shared/api/held.ts'
import { api } from '../bridge/current.ts'
import { ErrorText } from '../common/ErrorText.tsx'
import { humanError } from '../common/human-error.ts'

const REFRESH_MS = 5_000

/** "Phone deleted 30 of 40 Books" (of at least as many as it deleted: documents created since count too). */
export function heldText(b: HeldBatchInfo): string {
  return `${b.deviceName} deleted ${b.docs} of ${Math.max(b.liveAtStart, b.docs)} ${b.collectionName}`
}

export function HeldNotice() {
  const [batches, setBatches] = useState<HeldBatchInfo[]>([])
  const [busy, setBusy] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    let alive = true
    const load = (): void => { void api().call('sync.held', {}).then((b) => { if (alive) setBatches(b) }).catch(() => {}) }
    load()
    const timer = setInterval(load, REFRESH_MS)
    const off = api().subscribe((event, data) => {
      if (event === 'sync:held' && alive) setBatches((data as { batches: HeldBatchInfo[] }).batches)
    })
    return () => { alive = false; clearInterval(timer); off() }
  }, [])
  if (batches.length === 0) return null
  const decide = async (b: HeldBatchInfo, call: 'sync.release' | 'sync.reject'): Promise<void> => {
    setBusy(b.id)
    setError(null)
    try {
      await api().call(call, { id: b.id })
      setBatches((list) => list.filter((x) => x.id !== b.id))
    } catch (err) {
      setError(humanError(err))
    } finally {
      setBusy(null)
    }
  }
  return (
    <section className="held-notice" role="region" aria-label="Held deletions">
      {batches.map((b) => (
        <div key={b.id} className="held-batch" role="group" aria-label={heldText(b)} data-testid="held-batch">
          <p>
            <strong>{heldText(b)}.</strong>{' '}
            Tandem held these deletions: the documents are still here until you choose.
          </p>
          <div className="held-actions">
            <button type="button" className="danger" disabled={busy !== null} onClick={() => void decide(b, 'sync.release')}>Keep deletions</button>
            <button type="button" className="primary" disabled={busy !== null} onClick={() => void decide(b, 'sync.reject')}>Restore them</button>
          </div>
        </div>
      ))}
      <ErrorText error={error} />
    </section>
  )
}
