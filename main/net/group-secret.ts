/**
 * What the group secret protects: gossip topic names are derived from it (so a stranger cannot tell
 * which collection or document a topic carries, nor link a topic across groups) and gossip payloads
 * are encrypted with it (AES-256-GCM), so a stranger that subscribes anyway learns nothing.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'

export const SECRET_BYTES = 32
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
