/**
 * Frame attestations: one signature by the sending device over the CIDs of every block in a frame
 * it sends (a DAG-sync answer frame, a replication push).
 *
 * Why: blocks written one at a time (interactive edits, offline edits) carry one signature each,
 * and Ed25519 verification is the dearest part of receiving them (~90–175 µs a block here, 20k of
 * them in a 10k/10k offline resync). Most blocks a device sends are its own. When their author
 * itself sends them, it signs "these CIDs" once per frame; a CID commits to every byte of its
 * block, author included, so the author's one signature vouches for each of its blocks in the
 * frame exactly as the block's own signature would. The receiver checks the attestation once and
 * skips the per-block signature only for blocks whose `author` is the attesting sender. Blocks by
 * other devices (forwarded history) are still checked one by one, and a frame whose attestation
 * does not hold is checked block by block, as if it had none: an attestation can only save work,
 * never admit a block.
 *
 * The signed message is ATTEST_DOMAIN + sha256 of the CID strings, each followed by "\n", in frame
 * order. The domain keeps it apart from anything else the device key signs (block roots, Noise
 * handshakes, gossip messages).
 */
import { createHash, verify as nodeVerify } from 'node:crypto'
import { publicKeyOf, type DeviceIdentity } from './identity.ts'

const ATTEST_DOMAIN = Buffer.from('tandem/frame-attest/v1\0', 'latin1')
export const ATTESTATION_BYTES = 64

/** What the sender signs for a frame whose blocks have these CIDs (null: an entry with no CID, never matches a real one). */
export function attestedMessage(ids: ReadonlyArray<string | null>): Uint8Array {
  const h = createHash('sha256')
  for (const id of ids) h.update(id === null ? '\0\n' : `${id}\n`, 'latin1')
  return Buffer.concat([ATTEST_DOMAIN, h.digest()])
}

/** The device's attestation of a frame of blocks with these CIDs. */
export async function attestFrame(identity: DeviceIdentity, ids: readonly string[]): Promise<Uint8Array> {
  return identity.sign(attestedMessage(ids))
}

/** True when `sig` is `deviceID`'s attestation of a frame of blocks with these CIDs (false on any malformed input). */
export function checkAttestation(deviceID: string, ids: ReadonlyArray<string | null>, sig: Uint8Array): boolean {
  if (!(sig instanceof Uint8Array) || sig.length !== ATTESTATION_BYTES) return false
  try {
    return nodeVerify(null, attestedMessage(ids), publicKeyOf(deviceID), sig)
  } catch {
    return false
  }
}
