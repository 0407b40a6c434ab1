/**
 * The node's log (main/net/logger.ts): "namespace: message" at info, the level first otherwise,
 * namespaces nested by forComponent, debug lines only when asked (TANDEM_DEBUG=1), and a plain
 * function taken as the sink of a named logger (the services that still take one).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLogger, debugFromEnv, silentLogger, toLogger, type LogLevel } from '../../main/net/logger.ts'

function sink(): { lines: Array<[string, LogLevel]>; write: (line: string, level: LogLevel) => void } {
  const lines: Array<[string, LogLevel]> = []
  return { lines, write: (line, level) => { lines.push([line, level]) } }
}

test('lines carry the namespace, and the level below or above info', () => {
  const s = sink()
  const root = createLogger(s.write, { debug: true })
  const dag = root.forComponent('dag-sync')
  root.info('started')
  dag.info('serving X failed: reset')
  dag.warn('commit failed')
  dag.error('broke')
  dag.debug('an address not recorded')
  dag.forComponent('frames').info('nested')
  assert.deepEqual(s.lines, [
    ['started', 'info'],
    ['dag-sync: serving X failed: reset', 'info'],
    ['warn dag-sync: commit failed', 'warn'],
    ['error dag-sync: broke', 'error'],
    ['debug dag-sync: an address not recorded', 'debug'],
    ['dag-sync:frames: nested', 'info'],
  ])
})

test('debug lines are dropped unless asked for; TANDEM_DEBUG=1 asks', () => {
  const s = sink()
  const log = createLogger(s.write, { debug: false }).forComponent('node')
  assert.equal(log.debugEnabled, false)
  log.debug('hidden')
  log.info('shown')
  assert.deepEqual(s.lines.map(([l]) => l), ['node: shown'])
  assert.equal(debugFromEnv({ TANDEM_DEBUG: '1' }), true)
  assert.equal(debugFromEnv({}), false)
  assert.equal(debugFromEnv({ TANDEM_DEBUG: '0' }), false)
})

test('a level is a plain function, and a plain function becomes a named logger', () => {
  const s = sink()
  const info = createLogger(s.write).info
  info('handed on') // detached from its logger, as group sync, pairing and nearby take it
  const lines: string[] = []
  toLogger((msg) => lines.push(msg), 'pairing').warn('refused')
  assert.deepEqual(s.lines.map(([l]) => l), ['handed on'])
  assert.deepEqual(lines, ['warn pairing: refused'])
  assert.equal(toLogger(undefined, 'x'), silentLogger)
  const given = createLogger(s.write)
  assert.equal(toLogger(given, 'x'), given, 'a Logger is taken as it is')
})
