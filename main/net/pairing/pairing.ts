/**
 * Pairing by invite. The inviter shows `tandem://pair?peer=…&addr=…&id=…&code=…&name=…`; the
 * joiner dials the inviter (Noise proves the inviter's peer ID) and proves it holds the code by a
 * challenge-response HMAC over both peer IDs and fresh nonces — the code itself never crosses the
 * wire. The inviter proves it knew the code too, then hands over the group: secret, epoch and
 * devices (introducer); the other devices learn of the new one by group sync. One use; expires.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { z } from 'zod'
import { TandemError, type ErrorCode } from '../../../shared/errors.ts'
import type { DeviceRecord, GroupState, PairingGroup } from '../group.ts'
import { MAX_ADDRS, MAX_DEVICES } from '../group.ts'
import { SECRET_BYTES } from '../group-secret.ts'
import { bytes, type Channel, errorFrame, MAX_PREAUTH_MESSAGE_BYTES, type PeerErrorMessage, peerErrorMessage, WireError } from '../wire.ts'
import { deviceIDOf } from '../device-id.ts'
import { ProtocolService, type InboundConnection, type ProtocolHost } from '../protocol-service.ts'
import { DEFAULT_TTL_MINUTES, MAX_INBOUND_STREAMS, MAX_MESSAGE_BYTES, MAX_TTL_MINUTES, MAX_WRONG_ATTEMPTS, NONCE_BYTES, PROTOCOL, TIMEOUT_MS } from './constants.ts'
import { formatInvite, newInviteSecrets, parseInvite } from './invite.ts'

const nonce = bytes.refine((b) => b.length === NONCE_BYTES, 'a 16-byte nonce')
const Hello = z.object({ t: z.literal('hello'), v: z.literal(1), invite: z.string().max(64), name: z.string().max(256), nonce })
const Proof = z.object({ t: z.literal('proof'), mac: bytes })
const Device = z.object({
  deviceID: z.string().max(128), name: z.string().max(256), addrs: z.array(z.string().max(512)).max(MAX_ADDRS),
  addedAt: z.number().int().min(0), removedAt: z.number().int().min(0).nullable(),
})
// The secret's length is checked here, as nearby's welcome does: a wrong one is a malformed answer
// (INVITE_MALFORMED), not an error of the group's when it takes it.
const Welcome = z.object({ t: z.literal('welcome'), mac: bytes, name: z.string().max(256), state: z.object({ epoch: z.number().int().min(0), secret: bytes.refine((b) => b.length === SECRET_BYTES, 'a 32-byte secret'), devices: z.array(Device).max(MAX_DEVICES + 1) }) })
type Welcome = z.infer<typeof Welcome>
const FromInviter = z.union([
  z.object({ t: z.literal('challenge'), nonce }),
  Welcome,
  peerErrorMessage,
])

interface ActiveInvite {
  id: string
  code: string
  expiresAt: number
  used: boolean
  wrong: number
}

export interface InviteInfo {
  id: string
  uri: string
  expiresAt: number
}

/** What pairing needs of the host: its protocol, this device's ID, and a connection to the inviter's address. */
export interface PairingHost extends ProtocolHost {
  readonly peerId: PeerId
  /** Connects to `addr` (libp2p's `dial`); Noise proves the key of the device that answered. */
  dial(addr: Multiaddr, options?: { signal?: AbortSignal }): Promise<{ remotePeer: PeerId }>
}

export interface PairingComponents {
  host: PairingHost
  group: PairingGroup
}

export interface PairingInit {
  selfAddrs: () => string[]
  log?: (msg: string) => void
}

interface PairingEvents {
  /** A device joined through one of our invites. */
  paired: [DeviceRecord]
}

const UNKNOWN: [ErrorCode, string] = ['INVITE_UNKNOWN', 'The other device does not know this invite (cancelled, or it restarted since). Ask for a new one.']

const INVITE_ERRORS: ReadonlySet<string> = new Set(['INVITE_EXPIRED', 'INVITE_USED', 'INVITE_WRONG_CODE', 'INVITE_UNKNOWN'])

export class Pairing extends EventEmitter<PairingEvents> {
  readonly #host: PairingHost
  readonly #group: PairingGroup
  readonly #init: PairingInit
  readonly #log: (msg: string) => void
  readonly #service: ProtocolService
  readonly #invites = new Map<string, ActiveInvite>()

  constructor(components: PairingComponents, init: PairingInit) {
    super()
    this.#host = components.host
    this.#group = components.group
    this.#init = init
    this.#log = init.log ?? (() => {})
    // Strangers pair: anyone is served. The inviter reads only the hello and the proof, from a peer
    // that has proved nothing yet.
    this.#service = new ProtocolService(this.#host, {
      protocol: PROTOCOL, name: 'pairing', maxInboundStreams: MAX_INBOUND_STREAMS, timeoutMs: TIMEOUT_MS,
      maxMessageBytes: MAX_PREAUTH_MESSAGE_BYTES, preAuthMessageBytes: MAX_PREAUTH_MESSAGE_BYTES,
      isMember: () => true, log: this.#log,
    }, (ch, _peer, _stream, connection) => this.#serve(ch, connection))
  }

  async start(): Promise<void> {
    await this.#service.start()
  }

  async stop(): Promise<void> {
    await this.#service.stop()
  }

  /** A new one-time invite, valid for `ttlMinutes`. */
  createInvite(options: { ttlMinutes?: number } = {}): InviteInfo {
    const ttl = options.ttlMinutes ?? DEFAULT_TTL_MINUTES
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0 || ttl > MAX_TTL_MINUTES) {
      throw new TandemError('INVALID_INPUT', `An invite lasts from a few seconds up to ${MAX_TTL_MINUTES} minutes.`)
    }
    const addrs = this.#init.selfAddrs()
    if (addrs.length === 0) throw new TandemError('NETWORK_OFF', 'This device is not listening on any address: start it with the network on to invite.')
    this.#prune()
    const { id, code } = newInviteSecrets()
    const expiresAt = Date.now() + Math.round(ttl * 60_000)
    this.#invites.set(id, { id, code, expiresAt, used: false, wrong: 0 })
    const uri = formatInvite({ peer: deviceIDOf(this.#host.peerId), addrs, id, code, name: this.#group.name })
    return { id, uri, expiresAt }
  }

  /** Invites still usable. */
  listInvites(): Array<{ id: string; expiresAt: number }> {
    const now = Date.now()
    return [...this.#invites.values()].filter((i) => !i.used && i.expiresAt > now).map(({ id, expiresAt }) => ({ id, expiresAt }))
  }

  /** Forgets invites that expired over an hour ago (until then their errors stay precise). */
  #prune(): void {
    const cutoff = Date.now() - 3_600_000
    for (const [id, i] of this.#invites) if (i.expiresAt < cutoff) this.#invites.delete(id)
  }

  cancelInvite(id: string): void {
    if (!this.cancel(id)) throw new TandemError('NOT_FOUND', 'There is no such invite (already used, expired or cancelled).')
  }

  /**
   * Cancels a usable invite named by its id, its code or its whole URI. False when there is none
   * (unknown, used, expired or cancelled already). A cancelled invite is refused as unknown.
   */
  cancel(idOrCode: string): boolean {
    if (typeof idOrCode !== 'string' || idOrCode.length === 0 || idOrCode.length > 4096) return false
    let key = idOrCode.trim()
    if (key.startsWith('tandem:')) {
      try { key = parseInvite(key).id } catch { return false }
    }
    const now = Date.now()
    for (const invite of this.#invites.values()) {
      if (invite.id !== key && invite.code !== key) continue
      if (invite.used || invite.expiresAt <= now) return false
      this.#invites.delete(invite.id)
      return true
    }
    return false
  }

  /** Why the invite `id` cannot be used now, or null when it can. Synchronous: callers rely on it. */
  #unusable(id: string): [ErrorCode, string] | null {
    const invite = this.#invites.get(id)
    if (invite === undefined) return UNKNOWN
    if (invite.used) return ['INVITE_USED', 'This invite was already used. Each invite works once: ask for a new one.']
    if (invite.expiresAt <= Date.now()) return ['INVITE_EXPIRED', `This invite expired at ${new Date(invite.expiresAt).toLocaleTimeString()}. Ask for a new one.`]
    return null
  }

  async #serve(ch: Channel, connection: InboundConnection): Promise<void> {
    const group = this.#group
    const joiner = connection.remotePeer.toString()
    const refuse = async (code: ErrorCode, error: string): Promise<void> => {
      await ch.send(errorFrame(code, error))
      await ch.close()
    }
    const hello = await ch.recv(Hello)
    const unusable = this.#unusable(hello.invite)
    if (unusable !== null) return await refuse(...unusable)
    const invite = this.#invites.get(hello.invite)!
    const mine = randomBytes(NONCE_BYTES)
    await ch.send({ t: 'challenge', nonce: mine })
    const proof = await ch.recv(Proof)
    const expected = mac(invite.code, 'joiner', joiner, this.#host.peerId.toString(), hello.nonce, mine)
    if (proof.mac.length !== expected.length || !timingSafeEqual(proof.mac, expected)) {
      invite.wrong++
      if (invite.wrong >= MAX_WRONG_ATTEMPTS) this.#invites.delete(invite.id)
      return await refuse('INVITE_WRONG_CODE', 'The code in this invite is wrong.')
    }
    // Checked again, with no await between this check and the marking: another holder of the same
    // invite may have proved the code while this one was answering (or it expired, or was cancelled
    // or burnt meanwhile). The first proof to get here takes the invite; the others are refused.
    const taken = this.#unusable(invite.id)
    if (taken !== null) return await refuse(...taken)
    invite.used = true // kept until it expires, so a second use gets the right error
    const record = await group.add({ deviceID: joiner, name: hello.name, addrs: [connection.remoteAddr.toString()] })
    await ch.send({
      t: 'welcome',
      mac: mac(invite.code, 'inviter', joiner, this.#host.peerId.toString(), hello.nonce, mine),
      name: group.name,
      state: group.state(this.#init.selfAddrs()),
    })
    await ch.close()
    this.#log(`paired with ${record.name} (${joiner})`)
    this.emit('paired', record)
  }

  /**
   * Joins the group of the device that made the invite. Returns that device. When this device has
   * devices already, joining merges its group into the inviter's (they all get one secret and learn
   * of each other): that takes `mergeGroups`, else the join is refused before anything is sent, so a
   * stray or phishing invite cannot take a whole group with it, and the invite stays usable.
   */
  async join(uri: string, options: { mergeGroups?: boolean } = {}): Promise<DeviceRecord> {
    const invite = parseInvite(uri)
    const host = this.#host
    const group = this.#group
    if (invite.peer === host.peerId.toString()) throw new TandemError('INVALID_INPUT', 'This invite was made by this very device.')
    if (group.has(invite.peer)) throw new TandemError('ALREADY_PAIRED', `${invite.name || invite.peer} is already a device of this group.`)
    const mine = group.list()
    if (mine.length > 0 && options.mergeGroups !== true) {
      const inviter = invite.name || `device ${invite.peer.slice(-6)}`
      const names = mine.map((d) => d.name)
      throw new TandemError('MERGE_NOT_CONFIRMED',
        `This device is in a group already: it syncs with ${listOf(names)}. The invite is from ${inviter}; joining it ` +
        `merges the two groups, so that ${listOf(names)} and ${inviter} (with every device of its group) all sync with ` +
        'each other. Nothing was changed. To merge them, join again and confirm the merge (CLI: --merge-groups).',
        { devices: mine.map((d) => ({ peerID: d.deviceID, name: d.name })), inviter: { peerID: invite.peer, name: invite.name } })
    }
    const peer = peerIdFromString(invite.peer)
    let connected = false
    const failures: string[] = []
    for (const addr of invite.addrs) {
      const target = addr.includes('/p2p/') ? addr : `${addr}/p2p/${invite.peer}`
      try {
        const conn = await host.dial(multiaddr(target), { signal: AbortSignal.timeout(10_000) })
        // Noise authenticated the remote key: it must be the device the invite names.
        if (!conn.remotePeer.equals(peer)) { failures.push(`${addr}: a different device answered`); continue }
        connected = true
        break
      } catch (err) {
        failures.push(`${addr}: ${(err as Error).message}`)
      }
    }
    if (!connected) {
      throw new TandemError('UNREACHABLE', `Could not reach ${invite.name || 'the inviting device'} at ${invite.addrs.join(', ')}. Is it on and on a network this device can reach?`, { failures })
    }
    let welcome: Welcome
    try {
      // The welcome carries the whole group state; the challenge before it is small.
      welcome = await this.#service.request(peer, async (ch) => {
        const mine = randomBytes(NONCE_BYTES)
        await ch.send({ t: 'hello', v: 1, invite: invite.id, name: group.name, nonce: mine })
        const challenge = await ch.recv(FromInviter)
        if ('error' in challenge) throw inviterError(challenge)
        if (challenge.t !== 'challenge') throw new TandemError('INVITE_MALFORMED', 'The other device answered out of turn.')
        ch.authenticated() // the device the invite names (Noise proved its key): its welcome may be large
        await ch.send({ t: 'proof', mac: mac(invite.code, 'joiner', host.peerId.toString(), invite.peer, mine, challenge.nonce) })
        const answer = await ch.recv(FromInviter)
        if ('error' in answer) throw inviterError(answer)
        if (answer.t !== 'welcome') throw new TandemError('INVITE_MALFORMED', 'The other device answered out of turn.')
        const expected = mac(invite.code, 'inviter', host.peerId.toString(), invite.peer, mine, challenge.nonce)
        if (answer.mac.length !== expected.length || !timingSafeEqual(answer.mac, expected)) {
          throw new TandemError('INVITE_WRONG_CODE', 'The other device could not prove it made this invite.')
        }
        return answer
      }, { maxMessageBytes: MAX_MESSAGE_BYTES, preAuthMessageBytes: MAX_PREAUTH_MESSAGE_BYTES, timeoutMs: TIMEOUT_MS })
    } catch (err) {
      if (err instanceof WireError) { // junk or a broken stream from the other side: say so with a code
        throw /^could not read/.test(err.message)
          ? new TandemError('UNREACHABLE', `The connection to ${invite.name || 'the inviting device'} broke off during pairing: ${err.message}`)
          : new TandemError('INVITE_MALFORMED', `The inviting device answered with something that is not a pairing answer: ${err.message}`)
      }
      throw err
    }
    // The stream is closed: the inviter has paired; now this device takes the group.
    await group.setSecret(welcome.state.secret, welcome.state.epoch)
    await group.merge(welcome.state as unknown as GroupState)
    const inviter = group.get(invite.peer) ?? await group.add({ deviceID: invite.peer, name: welcome.name, addrs: invite.addrs })
    return inviter
  }
}

function mac(code: string, role: string, joiner: string, inviter: string, joinerNonce: Uint8Array, inviterNonce: Uint8Array): Buffer {
  return createHmac('sha256', code).update(`tandem/pair/v1|${role}|${joiner}|${inviter}|`)
    .update(joinerNonce).update(inviterNonce).digest()
}

/** The inviter's refusal as it says it; a code other than an invite's (or none) reads as a malformed invite. */
function inviterError(msg: PeerErrorMessage): TandemError {
  const code = msg.code !== undefined && INVITE_ERRORS.has(msg.code) ? msg.code as ErrorCode : 'INVITE_MALFORMED'
  return new TandemError(code, msg.error)
}

/** "a", "a and b", "a, b and c"; long lists end with "and N more". */
function listOf(names: string[], max = 5): string {
  const shown = names.length > max ? [...names.slice(0, max - 1), `${names.length - max + 1} more`] : names
  return shown.length <= 1 ? shown.join('') : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`
}
