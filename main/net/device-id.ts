/**
 * Device IDs are branded (shared/types.ts) where they enter the node, and only there: a string a
 * person or another device gave is checked (`checkDeviceID`); a peer libp2p authenticated already
 * has its ID (`deviceIDOf`). Past that, signatures say DeviceID and nothing casts.
 */
import { TandemError } from '../../shared/errors.ts'
import type { DeviceID } from '../../shared/types.ts'
import { publicKeyOf } from '../db/identity.ts'

// A peer libp2p authenticated: db/identity.ts brands its peer ID (the device's own ID is made there too).
export { deviceIDOf } from '../db/identity.ts'

/** The longest peer ID taken: an Ed25519 one is 52 characters; this leaves room and bounds junk. */
const MAX_DEVICE_ID_CHARS = 128

/** A device ID given as input: a libp2p peer ID of an Ed25519 key (INVALID_INPUT otherwise). */
export function checkDeviceID(id: unknown): DeviceID {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_DEVICE_ID_CHARS) throw new TandemError('INVALID_INPUT', 'A device ID is a libp2p peer ID like 12D3KooW….')
  try {
    publicKeyOf(id)
  } catch {
    throw new TandemError('INVALID_INPUT', `"${id.slice(0, 60)}" is not a device ID (an Ed25519 libp2p peer ID like 12D3KooW…).`)
  }
  return id as DeviceID
}
