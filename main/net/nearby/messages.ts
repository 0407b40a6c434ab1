/** Wire messages of the nearby-pairing protocol (dag-cbor, length-prefixed; see ../wire.ts). */
import { z } from 'zod'
import { MAX_ADDRS, MAX_DEVICES } from '../group.ts'
import { bytes, peerErrorMessage } from '../wire.ts'
import { COMMIT_BYTES, NONCE_BYTES, REQUEST_TTL_MS } from './constants.ts'
import { ELEMENT_BYTES, MAC_BYTES } from './passkey.ts'

const nonce = bytes.refine((b) => b.length === NONCE_BYTES, `a ${NONCE_BYTES}-byte nonce`)
const name = z.string().max(256)
const devices = z.number().int().min(0).max(MAX_DEVICES)
/** Why the other side stops: the one error frame of wire.ts (`errorFrame`), with a code. */
const ErrorMsg = peerErrorMessage

/** Requester → responder, first: who it is and its commitment to a nonce it keeps for now. */
export const Request = z.object({
  t: z.literal('request'), v: z.literal(1), name, commit: bytes.refine((b) => b.length === COMMIT_BYTES, 'a 32-byte commitment'),
})
/** Responder → requester: its nonce (chosen before it knows the requester's), or why it refuses. */
export const NonceMsg = z.union([z.object({ t: z.literal('nonce'), nonce, name }), ErrorMsg])
/** Requester → responder: the nonce it committed to. */
export const Reveal = z.object({ t: z.literal('reveal'), nonce })
/** Responder → requester: the request is on its screen now, for `ttlMs`. */
export const Shown = z.union([z.object({ t: z.literal('shown'), ttlMs: z.number().int().min(1).max(REQUEST_TTL_MS) }), ErrorMsg])

const Device = z.object({
  deviceID: z.string().max(128), name: z.string().max(256), addrs: z.array(z.string().max(512)).max(MAX_ADDRS),
  addedAt: z.number().int().min(0), removedAt: z.number().int().min(0).nullable(),
})
export const GroupStateMsg = z.object({
  epoch: z.number().int().min(0), secret: bytes.refine((b) => b.length === 32, 'a 32-byte secret'), devices: z.array(Device).max(MAX_DEVICES + 1),
})

const element = bytes.refine((b) => b.length === ELEMENT_BYTES, `a ${ELEMENT_BYTES}-byte group element`)
const mac = bytes.refine((b) => b.length === MAC_BYTES, `a ${MAC_BYTES}-byte proof`)
const Decline = z.object({ t: z.literal('decline') })
const Welcome = z.object({ t: z.literal('welcome'), name, state: GroupStateMsg })

/**
 * After `shown`, passkey entry (./passkey.ts). Responder → requester: its person typed a code (one
 * run of the exchange); it did not match (a notice for the requester's screen); the run matched
 * (its proof, and how many other devices its group has, which decides who hands over the group); a
 * decline; the group, when it gives it; or why it stopped.
 */
export const FromResponder = z.union([
  z.object({ t: z.literal('try'), value: element }),
  z.object({ t: z.literal('wrong') }),
  z.object({ t: z.literal('confirm'), mac, devices }),
  Decline, Welcome, ErrorMsg,
])
export type FromResponderMsg = z.infer<typeof FromResponder>

/** Requester → responder: its side of a run, with its proof and device count; a withdrawal; the group. */
export const FromRequester = z.union([
  z.object({ t: z.literal('reply'), value: element, mac, devices }),
  Decline, Welcome, ErrorMsg,
])
export type FromRequesterMsg = z.infer<typeof FromRequester>
