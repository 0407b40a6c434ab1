import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { commitment, opens, pairingCode, requestID } from '../../main/net/nearby/code.ts'
import { mdnsPeerName, nameFromPeerName } from '../../main/net/nearby/mdns-name.ts'

const R = '12D3KooWRequester'
const S = '12D3KooWResponder'

test('the pairing code: 6 digits, the same from both sides, changed by either nonce or either peer', () => {
  const [nr, ns] = [randomBytes(16), randomBytes(16)]
  const code = pairingCode(R, S, nr, ns)
  assert.match(code, /^\d{6}$/)
  assert.equal(pairingCode(R, S, Buffer.from(nr), Buffer.from(ns)), code)
  assert.equal(requestID(R, S, nr, ns), requestID(R, S, nr, ns))
  assert.match(requestID(R, S, nr, ns), /^[a-z2-7]{16}$/)
  const others = [pairingCode(S, R, nr, ns), pairingCode(R, S, ns, nr), pairingCode(R, `${S}x`, nr, ns)]
  // One of 10^6 codes: three unrelated inputs all colliding would mean the inputs are ignored.
  assert.ok(others.some((c) => c !== code))
  // Spread: 2000 random pairs give many distinct codes with leading zeros kept.
  const codes = new Set(Array.from({ length: 2000 }, () => pairingCode(R, S, randomBytes(16), randomBytes(16))))
  assert.ok(codes.size > 1990)
  assert.ok([...codes].every((c) => c.length === 6))
})

test('a commitment opens only with its nonce and its requester', () => {
  const n = randomBytes(16)
  const c = commitment(R, n)
  assert.equal(c.length, 32)
  assert.equal(opens(c, R, n), true)
  assert.equal(opens(c, R, randomBytes(16)), false)
  assert.equal(opens(c, S, n), false)
  assert.equal(opens(c.subarray(0, 31), R, n), false)
})

test('device names travel in the mDNS peer name, cut to fit a DNS label', () => {
  for (const name of ['laptop', 'Anna’s phone 📱', 'x'.repeat(64), 'ü'.repeat(40)]) {
    const label = mdnsPeerName(name)
    assert.ok(label.length <= 63, `${label} fits a DNS label`)
    assert.match(label, /^[a-z0-9-]+$/)
    const back = nameFromPeerName(label)!
    assert.ok(name.startsWith(back), `${back} is a prefix of ${name}`)
    assert.ok(back.length >= Math.min(name.length, 15))
    assert.ok(!back.includes('\uFFFD'))
  }
  assert.notEqual(mdnsPeerName('a'), mdnsPeerName('a'), 'a random part keeps two equal names apart')
  assert.equal(nameFromPeerName(mdnsPeerName('')), undefined)
  for (const junk of ['', 'abc', 't1-short-aaaa', 't1-abcdefghij-AAAA', 't1-abcdefghij-!!', 'x'.repeat(300)]) assert.equal(nameFromPeerName(junk), undefined)
  assert.equal(nameFromPeerName(mdnsPeerName('\u0001\u0002')), undefined, 'control characters are dropped')
})
