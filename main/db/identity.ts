/**
 * The device identity: one Ed25519 key pair per data directory, created on first start and reused
 * after. Its libp2p peer ID is the device ID; it signs every block this device writes.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto'
import { chmod, open, readFile, rename, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface'
import { LRUCache } from 'lru-cache'
import { TandemError } from '../../shared/errors.ts'
import type { DeviceID } from '../../shared/types.ts'

export const KEY_FILE = 'device.key'

export interface DeviceIdentity {
  readonly deviceID: DeviceID
  readonly peerId: PeerId
  readonly privateKey: Ed25519PrivateKey
  sign(data: Uint8Array): Promise<Uint8Array>
}

/** Loads the device key from `dir`, creating it (mode 0600) on first start. */
export async function loadOrCreateIdentity(dir: string): Promise<DeviceIdentity> {
  const path = join(dir, KEY_FILE)
  let privateKey: Ed25519PrivateKey
  try {
    const bytes = await readFile(path)
    const key = privateKeyFromProtobuf(bytes)
    if (key.type !== 'Ed25519') throw new Error(`expected an Ed25519 key, found ${key.type}`)
    privateKey = key
    // A key file others can read is a key others may have copied: tighten it, as ssh insists.
    if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new TandemError('DATA_DIR_INVALID', `The device key ${path} cannot be read: ${(err as Error).message}`)
    }
    privateKey = await generateKeyPair('Ed25519')
    await writePrivateFile(path, privateKeyToProtobuf(privateKey))
  }
  return identityFromKey(privateKey)
}

/**
 * The device ID of a peer whose key libp2p authenticated (this device's own, the remote end of a
 * connection, the sender of a signed message): its peer ID, which is what DeviceID names.
 */
export function deviceIDOf(peer: { toString(): string }): DeviceID {
  return peer.toString() as DeviceID
}

export function identityFromKey(privateKey: Ed25519PrivateKey): DeviceIdentity {
  const peerId = peerIdFromPrivateKey(privateKey)
  // @libp2p/crypto rebuilds a node KeyObject from JWK on every sign (about half its cost, profiled);
  // build it once and sign with node:crypto's Ed25519 directly. Same key, same signatures.
  const keyObject = createPrivateKey({
    format: 'jwk',
    key: { kty: 'OKP', crv: 'Ed25519', d: b64url(privateKey.raw.subarray(0, 32)), x: b64url(privateKey.publicKey.raw) },
  })
  const sign = (data: Uint8Array): Uint8Array => nodeSign(null, data, keyObject)
  return {
    deviceID: deviceIDOf(peerId),
    peerId,
    // libp2p signs with it too (every gossip message, each Noise handshake): the same key, signing
    // with the KeyObject built once.
    privateKey: Object.assign(Object.create(Object.getPrototypeOf(privateKey) as object) as Ed25519PrivateKey, privateKey, {
      sign: (data: Uint8Array | { subarray(): Uint8Array }) => sign(data instanceof Uint8Array ? data : data.subarray()),
    }),
    sign: async (data) => sign(data),
  }
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url')
}

/** Writes a file readable by its owner only, atomically (a crash leaves the old file or the new). */
async function writePrivateFile(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(bytes)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
}

// Public keys are parsed from peer ID strings again and again while verifying blocks; keep a few.
const publicKeys = new LRUCache<string, KeyObject>({ max: 1024 })

/** The Ed25519 public key inside a device ID (as a node KeyObject), or an error if the ID holds none. */
export function publicKeyOf(deviceID: string): KeyObject {
  let key = publicKeys.get(deviceID)
  if (key === undefined) {
    let peerId: PeerId
    try {
      peerId = peerIdFromString(deviceID)
    } catch {
      throw new TandemError('BAD_SIGNATURE', `"${deviceID}" is not a device ID`)
    }
    if (peerId.type !== 'Ed25519' || peerId.publicKey === undefined) {
      throw new TandemError('BAD_SIGNATURE', `device ID "${deviceID}" does not carry an Ed25519 key`)
    }
    key = createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: b64url(peerId.publicKey.raw) } })
    publicKeys.set(deviceID, key)
  }
  return key
}

/**
 * True when `sig` is `deviceID`'s signature of `data`. Runs on libuv's thread pool (node:crypto's
 * callback form), not on the event loop: a resync verifies thousands of signatures (~10k/s per
 * core), and this way they use every core and leave the loop to the network and the database.
 */
export async function verifySignature(deviceID: string, data: Uint8Array, sig: Uint8Array, options: { inline?: boolean } = {}): Promise<boolean> {
  const key = publicKeyOf(deviceID)
  // One signature alone (an edit arriving by gossip) is checked at once: the hop to the thread pool
  // and back costs more latency than the check itself.
  if (options.inline === true) return nodeVerify(null, data, key, sig)
  return new Promise((resolve, reject) => {
    nodeVerify(null, data, key, sig, (err, ok) => { if (err !== null) reject(err); else resolve(ok) })
  })
}
