/**
 * The handshake's commit-then-reveal, the passkey exchange (SPEKE over RFC 3526 group 14), the
 * per-source limits and the device names in mDNS answers, as functions.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { getDiffieHellman, randomBytes } from 'node:crypto'
import { commitment, opens, requestID, sessionID } from '../../main/net/nearby/code.ts'
import { ELEMENT_BYTES, generator, isCode, newCode, proof, proves, startRun } from '../../main/net/nearby/passkey.ts'
import { mdnsPeerName, nameFromPeerName } from '../../main/net/nearby/mdns-name.ts'
import { SourceLimits, sourceOf } from '../../main/net/nearby/sources.ts'
import { MAX_PENDING_PER_SOURCE, MAX_REQUESTS_PER_SOURCE_PER_MINUTE } from '../../main/net/nearby/constants.ts'

const R = '12D3KooWRequester'
const S = '12D3KooWResponder'

test('the request id and session: the same from both sides, changed by either nonce or either peer', () => {
  const [nr, ns] = [randomBytes(16), randomBytes(16)]
  assert.equal(requestID(R, S, Buffer.from(nr), Buffer.from(ns)), requestID(R, S, nr, ns))
  assert.match(requestID(R, S, nr, ns), /^[a-z2-7]{16}$/)
  const session = sessionID(R, S, nr, ns)
  assert.equal(session.length, 32)
  for (const other of [sessionID(S, R, nr, ns), sessionID(R, S, ns, nr), sessionID(R, `${S}x`, nr, ns), sessionID(R, S, randomBytes(16), ns)]) {
    assert.notDeepEqual(other, session)
  }
})

test('codes: 6 digits, uniform enough, leading zeros kept', () => {
  const codes = Array.from({ length: 3000 }, () => newCode())
  assert.ok(codes.every((c) => isCode(c)))
  assert.ok(new Set(codes).size > 2980)
  const low = codes.filter((c) => c < '500000').length
  assert.ok(low > 1300 && low < 1700, `${low} of 3000 below 500000`)
  for (const bad of ['12345', '1234567', '12345a', ' 123456', '', 123456, null]) assert.equal(isCode(bad), false, String(bad))
})

test('passkey exchange: the same code gives both sides one key; another code, session or role gives none', () => {
  const session = randomBytes(32)
  const run = (code: string, role: 'requester' | 'responder', s: Uint8Array = session) => startRun(code, s, role)
  const [resp, req] = [run('042917', 'responder'), run('042917', 'requester')]
  assert.equal(resp.value.length, ELEMENT_BYTES)
  const key = resp.key(req.value)
  assert.deepEqual(req.key(resp.value), key, 'the same code: the same key')
  // The proofs are bound to the role and the device count they carry.
  assert.equal(proves(key, 'requester', 2, proof(key, 'requester', 2)), true)
  assert.equal(proves(key, 'responder', 2, proof(key, 'requester', 2)), false)
  assert.equal(proves(key, 'requester', 3, proof(key, 'requester', 2)), false)
  assert.equal(proves(key, 'requester', 2, proof(key, 'requester', 2).subarray(0, 31)), false)

  for (const [a, b] of [
    [run('042917', 'responder'), run('042918', 'requester')], // one digit off
    [run('042917', 'responder'), run('042917', 'requester', randomBytes(32))], // another session (a relay in the middle)
  ] as const) {
    const ka = a.key(b.value)
    assert.equal(proves(ka, 'requester', 0, proof(b.key(a.value), 'requester', 0)), false)
  }
  // Fresh exponents: two runs of one code never send the same value.
  assert.notDeepEqual(run('042917', 'requester').value, req.value)
  // Generators differ per code and per session, and are squares (order q) greater than 1.
  assert.notDeepEqual(generator('000000', session), generator('000001', session))
  assert.notDeepEqual(generator('000000', session), generator('000000', randomBytes(32)))
})

test('passkey exchange: values outside the group are refused (0, 1, p-1, p and above, outside the subgroup, wrong length)', () => {
  const r = startRun('123456', randomBytes(32), 'requester')
  const prime = getDiffieHellman('modp14').getPrime()
  const minus = (n: number): Buffer => { const b = Buffer.from(prime); b[b.length - 1]! -= n; return b }
  const small = (n: number): Buffer => { const b = Buffer.alloc(ELEMENT_BYTES); b[ELEMENT_BYTES - 1] = n; return b }
  // p-2 = -2 is in range but not a square mod p: not in the subgroup of order q.
  for (const bad of [small(0), small(1), minus(1), minus(2), prime, Buffer.alloc(ELEMENT_BYTES, 0xff), Buffer.alloc(ELEMENT_BYTES - 1, 7), Buffer.alloc(ELEMENT_BYTES + 1, 7)]) {
    assert.throws(() => r.key(bad), /group element/)
  }
  assert.equal(r.key(small(4)).length, 32, '4, a square, is in the subgroup')
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

test('sources: an IPv4 address, an IPv6 /64, a relay; limits per source, a minute at a time', () => {
  const P = '/p2p/12D3KooWRequester'
  assert.equal(sourceOf(`/ip4/10.0.0.7/tcp/4001${P}`), '10.0.0.7')
  assert.equal(sourceOf('/ip4/10.0.0.7/udp/4001/webrtc-direct'), '10.0.0.7')
  assert.equal(sourceOf('/ip6/2001:db8:1:2:aaaa::1/tcp/1'), sourceOf('/ip6/2001:0db8:0001:0002:ffff:1:2:3/tcp/9'), 'one /64')
  assert.notEqual(sourceOf('/ip6/2001:db8:1:2::1/tcp/1'), sourceOf('/ip6/2001:db8:1:3::1/tcp/1'))
  assert.equal(sourceOf('/ip6/::1/tcp/1'), '0:0:0:0::/64')
  assert.equal(sourceOf(`/ip4/1.2.3.4/tcp/1/p2p/12D3KooWRelay/p2p-circuit${P}`), 'relay 1.2.3.4')
  assert.equal(sourceOf(undefined), 'unknown')

  const limits = new SourceLimits()
  const t0 = 1_000_000
  for (let i = 0; i < MAX_PENDING_PER_SOURCE; i++) assert.equal(limits.admit('a', t0), 'ok')
  assert.equal(limits.admit('a', t0), 'pending')
  assert.equal(limits.admit('b', t0), 'ok', 'another source is not held up')
  for (let i = MAX_PENDING_PER_SOURCE; i < MAX_REQUESTS_PER_SOURCE_PER_MINUTE; i++) {
    limits.release('a')
    assert.equal(limits.admit('a', t0 + i), 'ok')
  }
  limits.release('a')
  assert.equal(limits.admit('a', t0 + 59_000), 'rate')
  assert.equal(limits.admit('a', t0 + 60_000 + MAX_REQUESTS_PER_SOURCE_PER_MINUTE), 'ok', 'a minute later')
})
