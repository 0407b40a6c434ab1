/**
 * What the group secret protects: gossip topic names are derived from it (so a stranger cannot tell
 * which collection or document a topic carries, nor link a topic across groups) and gossip payloads
 * are encrypted with it (AES-256-GCM), so a stranger that subscribes anyway learns nothing.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, verify as nodeVerify } from 'node:crypto'
import { publicKeyOf } from '../db/identity.ts'

export const SECRET_BYTES = 32
export const SECRET_SIG_BYTES = 64
const SIGN_DOMAIN = Buffer.from('tandem/group-secret/v1\0', 'latin1')
const NONCE_BYTES = 12
const TAG_BYTES = 16

export class GroupSecret {
  readonly #topicKey: Buffer
  readonly #payloadKey: Buffer
  readonly bytes: Uint8Array

  constructor(secret: Uint8Array) {
    if (secret.length !== SECRET_BYTES) throw new Error(`a group secret is ${SECRET_BYTES} bytes`)
    this.bytes = secret
    this.#topicKey = Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), 'tandem/topics/v1', 32))
    this.#payloadKey = Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), 'tandem/gossip/v1', 32))
  }

  static random(): GroupSecret {
    return new GroupSecret(randomBytes(SECRET_BYTES))
  }

  collectionTopic(collectionID: string): string {
    return `/tandem/c/${this.#mac(`collection:${collectionID}`)}`
  }

  documentTopic(docID: string): string {
    return `/tandem/d/${this.#mac(`document:${docID}`)}`
  }

  seal(plaintext: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#payloadKey, nonce)
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
    return Buffer.concat([nonce, body, cipher.getAuthTag()])
  }

  /** The plaintext, or null when the message was not sealed with this group's secret. */
  open(sealed: Uint8Array): Uint8Array | null {
    if (sealed.length < NONCE_BYTES + TAG_BYTES) return null
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#payloadKey, sealed.subarray(0, NONCE_BYTES))
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
      return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()])
    } catch {
      return null
    }
  }

  #mac(what: string): string {
    return createHmac('sha256', this.#topicKey).update(what).digest('base64url').slice(0, 32)
  }
}

/**
 * Who made a group secret. The device that makes one (a rekey after a removal, a fresh group of one,
 * or the copy it adopts when it joins) signs its epoch and the secret's hash with its device key,
 * and the signature travels with the secret. A device takes a secret only when its maker is a
 * member, so once a device is removed every secret it made is worthless: nobody adopts it, and a
 * device that holds one replaces it (Group.merge).
 */
export interface SecretProof {
  by: string
  sig: Uint8Array
}

/** What the maker signs: the domain, the epoch as 8 bytes big-endian, and sha256 of the secret. */
export function secretMessage(epoch: number, secret: Uint8Array): Buffer {
  const e = Buffer.alloc(8)
  e.writeBigUInt64BE(BigInt(epoch))
  return Buffer.concat([SIGN_DOMAIN, e, createHash('sha256').update(secret).digest()])
}

/** True when `sig` is `by`'s signature of this secret at this epoch (false on any malformed input). */
export function checkSecretProof(epoch: number, secret: Uint8Array, proof: Partial<SecretProof>): boolean {
  const { by, sig } = proof
  if (typeof by !== 'string' || !(sig instanceof Uint8Array) || sig.length !== SECRET_SIG_BYTES) return false
  if (!Number.isSafeInteger(epoch) || epoch < 0 || secret.length !== SECRET_BYTES) return false
  try {
    return nodeVerify(null, secretMessage(epoch, secret), publicKeyOf(by), sig)
  } catch {
    return false
  }
}
