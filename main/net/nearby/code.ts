/**
 * The handshake's commit-then-reveal: the requester commits to its nonce (a hash) before it sees the
 * responder's nonce, and the responder picks its nonce before it sees the requester's. Neither can
 * choose the request's id or its session (the input of the passkey exchange, ./passkey.ts), which
 * both cover both peer IDs — Noise authenticated them — and both nonces: they name this very pair of
 * devices in this very request.
 *
 * The 6-digit code itself is not derived from these: the requester picks it at random and never
 * sends it (./passkey.ts), so that the responder cannot know it unless its person types it.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { base32 } from 'multiformats/bases/base32'

/** SHA-256 over a label and length-prefixed parts (parts cannot slide into each other). */
export function hash(label: string, ...parts: Array<string | Uint8Array>): Buffer {
  const h = createHash('sha256').update(`tandem/nearby/v1/${label}`)
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p) : p
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

/** The request's id: the same on both devices, and not choosable by either. */
export function requestID(requester: string, responder: string, requesterNonce: Uint8Array, responderNonce: Uint8Array): string {
  return base32.encode(hash('id', requester, responder, requesterNonce, responderNonce).subarray(0, 10)).slice(1)
}

/** The request's session: what the passkey exchange binds its keys to (./passkey.ts). */
export function sessionID(requester: string, responder: string, requesterNonce: Uint8Array, responderNonce: Uint8Array): Buffer {
  return hash('session', requester, responder, requesterNonce, responderNonce)
}
