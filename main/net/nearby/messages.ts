/** Wire messages of the nearby-pairing protocol (dag-cbor, length-prefixed; see ../wire.ts). */
import { z } from 'zod'
import { MAX_ADDRS, MAX_DEVICES } from '../group.ts'
import { bytes } from '../wire.ts'
import { COMMIT_BYTES, NONCE_BYTES, REQUEST_TTL_MS } from './constants.ts'

const nonce = bytes.refine((b) => b.length === NONCE_BYTES, `a ${NONCE_BYTES}-byte nonce`)
const name = z.string().max(256)
const devices = z.number().int().min(0).max(MAX_DEVICES)
const ErrorMsg = z.object({ t: z.literal('error'), code: z.string().max(64), error: z.string().max(500) })

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

/**
 * Either side, after `shown`: its person accepted (with how many other devices its group has, which
 * decides who hands over the group) or declined; then the group itself from the side that gives it.
 */
export const Decision = z.union([
  z.object({ t: z.literal('accept'), devices }),
  z.object({ t: z.literal('decline') }),
  z.object({ t: z.literal('welcome'), name, state: GroupStateMsg }),
  ErrorMsg,
])
export type DecisionMsg = z.infer<typeof Decision>
