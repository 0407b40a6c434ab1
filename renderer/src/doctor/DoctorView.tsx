/**
 * Doctor: why devices do or do not connect. For each group device how we know it, its path and
 * round-trip time, its last dial attempts in plain words and what to do; for this device how the
 * network sees it. Refreshed every few seconds while shown, and on demand.
 */
import { useCallback, useEffect, useState } from 'react'
import type { DoctorDevice, DoctorReport, Suggestion } from '../../../shared/api/index.ts'
import { api } from '../bridge/current.ts'
import { ago, clock, shortID } from '../common/format.ts'
import { humanError } from '../common/human-error.ts'
import { ErrorText } from '../common/ErrorText.tsx'
import { dialText, knownByText, pathText, reachabilityLabel, severityClass } from './doctor-format.ts'
import './doctor.css'

const REFRESH_MS = 5_000

export function DoctorView() {
  const [report, setReport] = useState<DoctorReport | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const check = useCallback(async () => {
    setBusy(true)
    try {
      setReport(await api().call('doctor.report', {}))
      setError(null)
    } catch (err) {
      setError(humanError(err))
    } finally {
      setBusy(false)
    }
  }, [])
  useEffect(() => {
    void check()
    const timer = setInterval(() => { void check() }, REFRESH_MS)
    return () => clearInterval(timer)
  }, [check])

  return (
    <div className="stack">
      <header className="pane-head">
        <h1>Doctor</h1>
        <button type="button" onClick={() => void check()} disabled={busy}>{busy ? 'Checking…' : 'Check again'}</button>
      </header>
      <ErrorText error={error} />
      {report === null ? <p className="muted">Checking…</p> : (
        <>
          <Suggestions list={report.suggestions} label="About this device" />
          <SelfCard report={report} />
          {report.devices.map((d) => <DeviceCard key={d.peerID} device={d} />)}
          <p className="muted small">Checked at {clock(report.at)}.</p>
        </>
      )}
    </div>
  )
}

function Suggestions({ list, label }: { list: Suggestion[]; label: string }) {
  if (list.length === 0) return null
  return (
    <ul className="doctor-suggestions" aria-label={label}>
      {list.map((s) => (
        <li key={s.code} data-code={s.code}>
          <span className={`pill ${severityClass(s.severity)}`}>{s.severity}</span> {s.text}
        </li>
      ))}
    </ul>
  )
}

function SelfCard({ report }: { report: DoctorReport }) {
  const { self } = report
  const reach = reachabilityLabel(self.reachability)
  return (
    <section className="card" aria-labelledby="doctor-self">
      <h2 id="doctor-self">This device on the network</h2>
      <p><span className={`pill ${reach.pill}`}>{reach.label}</span> {self.reachabilityText}</p>
      <div className="kv"><span>Addresses</span><span className="mono small doctor-lines">{self.addresses.length === 0 ? 'none' : self.addresses.join('\n')}</span><span /></div>
      <div className="kv"><span>Seen at</span><span className="mono small doctor-lines">{self.observed.length === 0 ? 'no peer has told us yet' : self.observed.map((o) => `${o.address} (by ${shortID(o.by)})`).join('\n')}</span><span /></div>
      <div className="kv"><span>Relays</span><span className="small doctor-lines">{self.relays.length === 0 ? (self.relayServer ? 'this device is a relay' : 'none configured') : self.relays.map((r) => `${r.relay}: ${r.reserved ? 'slot held' : r.connected ? 'connected, no slot' : 'unreachable'}`).join('\n')}</span><span /></div>
      <div className="kv"><span>mDNS</span><span className="small">{self.mdns.enabled ? `${self.mdns.found} device${self.mdns.found === 1 ? '' : 's'} found on this network${self.mdns.lastFoundAt !== null ? `, last ${ago(self.mdns.lastFoundAt)}` : ''}` : 'off'}</span><span /></div>
    </section>
  )
}

function DeviceCard({ device: d }: { device: DoctorDevice }) {
  const problem = d.suggestions.some((s) => s.severity !== 'info')
  return (
    <section className={problem ? 'card attention' : 'card'} aria-label={`Device ${d.name}`} data-peer={d.peerID}>
      <header className="pane-head">
        <h2>{d.name} <span className="mono small muted" title={d.peerID}>{shortID(d.peerID)}</span></h2>
        <span className={d.connected ? 'pill good' : 'pill muted'}>{d.connected ? 'Connected' : 'Not connected'}</span>
      </header>
      <div className="kv"><span>Path</span><span>{pathText(d)}</span><span /></div>
      <div className="kv"><span>Known by</span><span className="small">{knownByText(d.knownBy)}</span><span /></div>
      {!d.connected && <div className="kv"><span>Last seen</span><span>{ago(d.lastSeen)}</span><span /></div>}
      <Suggestions list={d.suggestions} label={`What to do about ${d.name}`} />
      {d.dials.length > 0 && (
        <details>
          <summary>Last dial attempts ({d.dials.length})</summary>
          <table aria-label={`Dial attempts to ${d.name}`}>
            <thead><tr><th>When</th><th>Result</th><th>Why</th></tr></thead>
            <tbody>
              {d.dials.map((x) => (
                <tr key={`${x.at}-${x.target}`}>
                  <td className="small">{clock(x.at)}</td>
                  <td><span className={x.ok ? 'pill good' : 'pill bad'}>{x.ok ? 'ok' : x.kind}</span></td>
                  <td className="small">{dialText(x)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </section>
  )
}
