/**
 * One nearby-pairing request after its handshake, on either device. Both people must accept (like
 * Bluetooth numeric comparison): the responder's person confirms that the code matches the
 * requester's screen, and the requester's person confirms the other way round — otherwise a
 * stranger advertising a look-alike name could accept a request meant for someone else's device
 * and be paired at once. When both have accepted, one side hands over its group (secret, epoch,
 * devices — as an invite's inviter does): the side whose group has more other devices, the
 * responder on a tie. The other adopts it; if it had devices of its own, they learn of the merged
 * group from it by group sync (the secret of the higher epoch wins everywhere).
 * Anything else — a decline, the deadline, a dropped stream, a malformed message — ends it, and
 * nothing is recorded.
 */
import { TandemError } from '../../../shared/errors.ts'
import type { Group, GroupState } from '../group.ts'
import { Channel, WireError } from '../wire.ts'
import { Decision, type DecisionMsg } from './messages.ts'

export type Outcome = 'accepted' | 'declined' | 'expired'

export interface PairingRequest {
  id: string
  peerID: string
  name?: string
  code: string
  direction: 'incoming' | 'outgoing'
  expiresAt: number
}

export interface SessionInit {
  record: PairingRequest
  ch: Channel
  /** Aborts the channel's reads and writes. */
  abort: (reason: Error) => void
  group: Group
  remoteAddr: string | undefined
  selfAddrs: () => string[]
  onDone: (outcome: Outcome) => void
  log?: (msg: string) => void
}

const HANDOVER_MS = 20_000

export class Session {
  readonly record: PairingRequest
  readonly #init: SessionInit
  #local: 'pending' | 'accepted' | 'declined' = 'pending'
  #remote: 'pending' | 'accepted' = 'pending'
  #localDevices = 0
  #remoteDevices = 0
  #done = false
  #handover: Promise<void> | null = null
  readonly #expiry: NodeJS.Timeout
  readonly #finished: Promise<Outcome>
  #resolveFinished: (o: Outcome) => void = () => {}

  constructor(init: SessionInit) {
    this.#init = init
    this.record = init.record
    this.#finished = new Promise((resolve) => { this.#resolveFinished = resolve })
    this.#expiry = setTimeout(() => this.#end('expired', new Error('the request expired')), Math.max(0, init.record.expiresAt - Date.now()))
    this.#expiry.unref()
    void this.#readLoop()
  }

  get done(): boolean {
    return this.#done
  }

  /** This side accepts. Resolves once sent, or, when the other side accepted already, once paired. */
  async accept(): Promise<void> {
    if (this.#done || this.#local !== 'pending') return
    this.#local = 'accepted'
    this.#init.ch.authenticated() // this person accepted the other device: its welcome may be large
    this.#localDevices = this.#init.group.list().length
    try {
      await this.#init.ch.send({ t: 'accept', devices: this.#localDevices })
    } catch (err) {
      this.#end('expired', err as Error)
      throw err
    }
    if (this.#remote === 'accepted') {
      await this.#startHandover()
      const outcome = await this.#finished
      if (outcome !== 'accepted') throw new TandemError('PAIRING_FAILED', `The pairing did not complete (${outcome}).`)
    }
  }

  async decline(): Promise<void> {
    if (this.#done) return
    this.#local = 'declined'
    await this.#init.ch.send({ t: 'decline' }).catch(() => {})
    await this.#init.ch.close()
    this.#end('declined')
  }

  /** Stops without a word (the node is stopping): the other side sees the stream end. */
  cancel(): void {
    this.#end('expired', new Error('pairing stopped'))
  }

  /** The side that gives the group: more other devices; the responder on a tie. */
  #iGive(): boolean {
    const incoming = this.record.direction === 'incoming' // we are the responder
    const responder = incoming ? this.#localDevices : this.#remoteDevices
    const requester = incoming ? this.#remoteDevices : this.#localDevices
    return incoming ? responder >= requester : requester > responder
  }

  #startHandover(): Promise<void> {
    this.#handover ??= this.#doHandover()
    return this.#handover
  }

  async #doHandover(): Promise<void> {
    clearTimeout(this.#expiry) // both accepted: the deadline no longer applies, the handover's own does
    const timer = setTimeout(() => this.#end('expired', new Error('the handover timed out')), HANDOVER_MS)
    timer.unref()
    try {
      if (!this.#iGive()) return // the welcome arrives in the read loop
      const { group, ch, selfAddrs, remoteAddr } = this.#init
      await group.add({ deviceID: this.record.peerID, name: this.record.name, addrs: remoteAddr === undefined ? [] : [remoteAddr] })
      await ch.send({ t: 'welcome', name: group.name, state: group.state(selfAddrs()) })
      await ch.close()
      this.#end('accepted')
    } catch (err) {
      this.#end('expired', err as Error)
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  async #readLoop(): Promise<void> {
    for (;;) {
      let msg: DecisionMsg
      try {
        msg = await this.#init.ch.recv(Decision)
      } catch (err) {
        // The other side went away, or the deadline aborted the read.
        if (!this.#done) this.#end('expired', err as Error)
        return
      }
      if (this.#done) return
      try {
        if (msg.t === 'decline') return this.#end('declined')
        if (msg.t === 'error') return this.#end('expired', new WireError(`the other device answered: ${msg.error}`))
        if (msg.t === 'accept') {
          if (this.#remote !== 'pending') throw new WireError('accepted twice')
          this.#remote = 'accepted'
          this.#remoteDevices = msg.devices
          if (this.#local === 'accepted') await this.#startHandover()
          continue
        }
        // A welcome: only once both accepted, and only from the side that gives.
        if (this.#local !== 'accepted' || this.#remote !== 'accepted' || this.#iGive()) throw new WireError('a group handed over out of turn')
        await this.#adopt(msg.name, msg.state as unknown as GroupState)
        return this.#end('accepted')
      } catch (err) {
        this.#init.log?.(`nearby pairing with ${this.record.peerID}: ${(err as Error).message}`)
        return this.#end('expired', err as Error)
      }
    }
  }

  async #adopt(name: string, state: GroupState): Promise<void> {
    const { group, remoteAddr } = this.#init
    await group.setSecret(state.secret, state.epoch)
    await group.merge(state) // merge checks every device ID and address itself
    if (group.get(this.record.peerID) === undefined) {
      await group.add({ deviceID: this.record.peerID, name, addrs: remoteAddr === undefined ? [] : [remoteAddr] })
    }
    await this.#init.ch.close()
  }

  #end(outcome: Outcome, err?: Error): void {
    if (this.#done) return
    this.#done = true
    clearTimeout(this.#expiry)
    if (err !== undefined) this.#init.abort(err)
    else void this.#init.ch.close()
    if (err !== undefined && outcome === 'expired') this.#init.log?.(`nearby pairing ${this.record.id} ended: ${err.message}`)
    this.#resolveFinished(outcome)
    this.#init.onDone(outcome)
  }
}
