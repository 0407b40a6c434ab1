/**
 * The always-visible verified sync summary ("All 3 devices in sync · verified 4 s ago"), from the
 * node's sync.status (head-exchange checks), refreshed on sync:status events and every 2 s (for the
 * "ago"); the per-device, per-collection detail opens below it.
 */
import { useEffect, useState } from 'react'
import type { SyncStatusReport } from '../../../shared/api/sync-status.ts'
import { api } from '../bridge/current.ts'
import { collectionText, deviceText, summaryText } from './sync-summary-format.ts'
import './sync-summary.css'

const REFRESH_MS = 2_000

export function SyncSummary() {
  const [report, setReport] = useState<SyncStatusReport | null>(null)
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    let alive = true
    const load = (): void => {
      void api().call('sync.status', {}).then((r) => { if (alive) { setReport(r); setNow(Date.now()) } }).catch(() => {})
    }
    load()
    const timer = setInterval(load, REFRESH_MS)
    const off = api().subscribe((event, data) => {
      if (event === 'sync:status' && alive) { setReport(data as SyncStatusReport); setNow(Date.now()) }
    })
    return () => { alive = false; clearInterval(timer); off() }
  }, [])
  if (report === null) return null
  const s = summaryText(report, now)
  return (
    <details className="sync-summary" data-testid="sync-summary">
      <summary className={`pill ${s.tone}`}>{s.text}</summary>
      <div className="sync-detail" role="region" aria-label="Sync status per device">
        {report.devices.map((d) => (
          <div key={d.deviceID} data-testid="sync-device">
            <strong>{deviceText(d, now)}</strong>
            <ul>
              {d.collections.map((c) => <li key={c.collection}>{c.name}: {collectionText(c, now)}</li>)}
            </ul>
          </div>
        ))}
      </div>
    </details>
  )
}
