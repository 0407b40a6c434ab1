/**
 * Passkey entry for nearby pairing. The requester picks a 6-digit code at random and shows it; it
 * never sends it. Its person types it on the responder. The two devices then check that they hold
 * the same code with SPEKE (Jablon 1996; ISO/IEC 11770-4), a password-authenticated key exchange:
 *
 *  - The code and the request's session (both peer IDs, both nonces: ./code.ts) are hashed onto a
 *    generator g of the prime-order subgroup of RFC 3526 group 14 (a 2048-bit safe prime p = 2q+1):
 *    a full-domain hash, squared. Nobody knows the discrete log between two codes' generators.
 *  - Each side sends g^x for a fresh random x and computes K = (their g^y)^x. With the same code
 *    both get the same K; with different codes K differs and, without the other's x, no one can
 *    tell which code the other used. Each run tests exactly one guess of the code: an attacker who
 *    runs the exchange learns whether its one guess was right and nothing with which to test others
 *    offline. A nonce-free exchange would be a dictionary of 10^6 codes; this is one try per run.
 *  - The key covers the session and both values in role order; each side proves the key with an
 *    HMAC over its role (and its device count): the requester answers first, the responder confirms.
 *  - A value outside [2, p-2] is refused, and so is one outside the subgroup of order q (OpenSSL
 *    checks v^q = 1 for this named group); the shared value is squared as well, so that even
 *    without that check a value of order 2q would teach nothing about x.
 *
 * A run between two different sessions (someone in the middle relaying values) gets different
 * generators on each side, so it fails like a wrong code.
 */
import { createHmac, getDiffieHellman, randomInt, timingSafeEqual } from 'node:crypto'
import { WireError } from '../wire.ts'
import { hash } from './code.ts'
import { CODE_DIGITS } from './constants.ts'

const PRIME = getDiffieHellman('modp14').getPrime()
const P = BigInt(`0x${PRIME.toString('hex')}`)
/** The size of a group element on the wire. */
export const ELEMENT_BYTES = PRIME.length
export const MAC_BYTES = 32

export type Role = 'requester' | 'responder'

/** A new code to show: CODE_DIGITS decimal digits, uniformly at random. */
export function newCode(): string {
  return String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0')
}

export function isCode(code: unknown): code is string {
  return typeof code === 'string' && new RegExp(`^\\d{${CODE_DIGITS}}$`).test(code)
}

function toBigInt(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`)
}

function toBytes(n: bigint): Buffer {
  return Buffer.from(n.toString(16).padStart(ELEMENT_BYTES * 2, '0'), 'hex')
}

/** The code's generator in this session: 2304 hashed bits mod p (bias below 2^-256), squared. */
export function generator(code: string, session: Uint8Array): Buffer {
  const wide = Buffer.concat(Array.from({ length: 9 }, (_, i) => hash('speke/generator', code, session, String(i))))
  const h = toBigInt(wide) % P
  const g = (h * h) % P
  if (g <= 1n) throw new Error('a degenerate generator') // h in {0, 1, p-1}: probability 2^-2046
  return toBytes(g)
}

function checkElement(y: Uint8Array): void {
  if (y.length !== ELEMENT_BYTES) throw new WireError(`a group element of ${ELEMENT_BYTES} bytes`)
  const v = toBigInt(y)
  if (v < 2n || v > P - 2n) throw new WireError('a group element out of range')
}

export interface Run {
  /** This side's value, to send. */
  readonly value: Buffer
  /** The run's key from the other side's value (a WireError when that value is invalid). */
  key(theirs: Uint8Array): Buffer
}

/** One run of the exchange for `code` in `session`, on the side of `role`. */
export function startRun(code: string, session: Uint8Array, role: Role): Run {
  // The named group's own random x (its generator 2 is not used): computeSecret(v) is v^x mod p, v
  // checked to lie in the subgroup of order q. (createDiffieHellman with our generator would test
  // p's primality each time, some 200 ms.)
  const dh = getDiffieHellman('modp14')
  dh.generateKeys()
  const value = toBytes(toBigInt(dh.computeSecret(generator(code, session))))
  return {
    value,
    key(theirs) {
      checkElement(theirs)
      let shared: Buffer
      try {
        shared = dh.computeSecret(theirs)
      } catch (err) {
        throw new WireError(`a group element that is not in the group: ${(err as Error).message}`)
      }
      // Squared: should a value of order 2q ever pass, it still could not learn x mod 2.
      const k = toBytes(toBigInt(shared) ** 2n % P)
      const [responder, requester] = role === 'responder' ? [value, theirs] : [theirs, value]
      return hash('speke/key', session, responder, requester, k)
    },
  }
}

/** What a side sends to prove it holds the run's key. */
export function proof(key: Uint8Array, role: Role, devices: number): Buffer {
  return createHmac('sha256', key).update(`tandem/nearby/v1/speke/confirm/${role}/${devices}`).digest()
}

export function proves(key: Uint8Array, role: Role, devices: number, mac: Uint8Array): boolean {
  const expected = proof(key, role, devices)
  return mac.length === expected.length && timingSafeEqual(mac, expected)
}
