/** The Doctor panel's words: how a device is known, a dial in one line, severities, reachability, path. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dialText, knownByText, pathText, reachabilityLabel, severityClass } from '../../renderer/src/doctor/doctor-format.ts'

test('the Doctor panel puts the report in words', () => {
  assert.equal(knownByText(['paired', 'known-address', 'mdns']), 'paired here · known address · found on this network (mDNS)')
  assert.equal(dialText({ at: 0, durationMs: 12, ok: true, target: 'x' }), 'connected in 12 ms')
  assert.equal(dialText({
    at: 0, durationMs: 3, ok: false, target: 'x', kind: 'refused', text: 'Connection refused.',
    failures: [{ kind: 'refused', text: 'Connection refused.', address: '10.0.0.2:9171' }, { kind: 'timeout', text: 't', address: '10.0.0.3:9171' }],
  }), 'Connection refused. (10.0.0.2:9171, 10.0.0.3:9171)')
  assert.equal(dialText({ at: 0, durationMs: 3, ok: false, target: 'x', kind: 'no-address' }), 'no-address')
  assert.equal(severityClass('problem'), 'bad')
  assert.equal(severityClass('warning'), 'warn')
  assert.equal(severityClass('info'), 'muted')
  assert.equal(reachabilityLabel('behind-nat').label, 'Behind NAT')
  assert.equal(pathText({ connected: true, pathText: 'LAN direct', rttMs: 1.4 }), 'LAN direct · 1.4 ms')
  assert.equal(pathText({ connected: true, pathText: 'relayed', rttMs: null }), 'relayed')
  assert.equal(pathText({ connected: false, pathText: null, rttMs: null }), 'not connected')
})
