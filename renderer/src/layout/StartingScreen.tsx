/**
 * The whole window while the node starts: "Starting…", or a store upgrade with its step and a
 * progress bar, until `node.status` (or the `node:status` event) says ready (store/live.ts).
 */
import type { NodeStatus } from '../../../shared/api/index.ts'
import { useTandem } from '../store/store.ts'

/** "Upgrading your data — step 1 of 1: what it does, 42 %" (no percentage before the step knows its total). */
export function upgradeLine(u: NonNullable<NodeStatus['upgrade']>): string {
  const percent = u.total > 0 ? `, ${Math.floor((u.done / u.total) * 100)} %` : ''
  return `Upgrading your data — step ${u.step.index} of ${u.step.of}: ${u.step.describe}${percent}`
}

export function StartingScreen() {
  const status = useTandem((s) => s.status)
  const link = useTandem((s) => s.link)
  const u = status?.state === 'upgrading' ? status.upgrade : undefined
  if (u === undefined) {
    return (
      <main className="starting" role="status" aria-live="polite">
        <h1>Tandem</h1>
        <p className="starting-line">{link === 'down' ? 'Waiting for the Tandem node…' : 'Starting…'}</p>
        <progress className="starting-bar" aria-label="Starting" />
      </main>
    )
  }
  return (
    <main className="starting" role="status" aria-live="polite">
      <h1>Tandem</h1>
      <p className="starting-line">{upgradeLine(u)}</p>
      {u.total > 0
        ? <progress className="starting-bar" max={u.total} value={u.done} aria-label="Upgrade progress" />
        : <progress className="starting-bar" aria-label="Upgrade progress" />}
      <p className="muted starting-note">
        This Tandem stores data in a newer format (from format {u.from} to {u.to}). A copy of your data is kept until the
        upgrade is done; the app opens when it is.
      </p>
    </main>
  )
}
