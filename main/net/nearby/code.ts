/**
 * The short code both devices show for a nearby pairing, by commit-then-reveal: the requester
 * commits to its nonce (a hash) before it sees the responder's nonce, and the responder picks its
 * nonce before it sees the requester's. Neither can steer the code towards a value of its choosing
 * (to match another request shown at the same time): each would have to know the other's nonce first.
 * The code covers both peer IDs, which Noise authenticated, so it names this very pair of devices.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { base32 } from 'multiformats/bases/base32'
import { CODE_DIGITS } from './constants.ts'

function hash(label: string, ...parts: Array<string | Uint8Array>): Buffer {
  const h = createHash('sha256').update(`tandem/nearby/v1/${label}`)
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p) : p
    // Length-prefixed, so parts cannot slide into each other.
    const len = Buffer.alloc(4)
    len.writeUInt32BE(b.length)
    h.update(len).update(b)
  }
  return h.digest()
}

/** What the requester sends first: binds it to its nonce without showing it. */
export function commitment(requester: string, nonce: Uint8Array): Buffer {
  return hash('commit', requester, nonce)
}

export function opens(commit: Uint8Array, requester: string, nonce: Uint8Array): boolean {
  const expected = commitment(requester, nonce)
  return commit.length === expected.length && timingSafeEqual(commit, expected)
}

/** The code shown on both screens: CODE_DIGITS decimal digits. */
export function pairingCode(requester: string, responder: string, requesterNonce: Uint8Array, responderNonce: Uint8Array): string {
  const h = hash('code', requester, responder, requesterNonce, responderNonce)
  return String(h.readUInt32BE(0) % 10 ** CODE_DIGITS).padStart(CODE_DIGITS, '0')
}

/** The request's id: the same on both devices, and not choosable by either. */
export function requestID(requester: string, responder: string, requesterNonce: Uint8Array, responderNonce: Uint8Array): string {
  return base32.encode(hash('id', requester, responder, requesterNonce, responderNonce).subarray(0, 10)).slice(1)
}
