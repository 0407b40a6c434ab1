/**
 * One nearby-pairing request after its handshake, on either device, by passkey entry (like
 * Bluetooth's): the requester shows a 6-digit code it picked and never sends; the person types it on
 * the responder; the devices then check, by a password-authenticated exchange (./passkey.ts), that
 * both hold the same code. Each entry is one run of it. A right entry pairs both devices at once
 * (neither person has anything else to confirm: each device has proof that the other holds the code
 * shown on the requester's screen). A wrong entry pairs nothing and uses one of MAX_CODE_TRIES; after
 * the last the request ends ('wrong-code'). The responder never shows the code (it does not know it),
 * so a request from a stranger cannot be accepted by comparing the stranger's own screen with itself.
 *
 * After a match, one side hands over its group (secret, epoch, devices — as an invite's inviter
 * does): the side whose group has more other devices, the responder on a tie. The other adopts it;
 * if it had devices of its own, they learn of the merged group from it by group sync (the secret of
 * the higher epoch wins everywhere). Anything else — a decline, the deadline, a dropped stream, a
 * malformed message, a proof that does not verify — ends it, and nothing is recorded.
 */
import type { ZodType } from 'zod'
import { TandemError } from '../../../shared/errors.ts'
import type { GroupState, PairingGroup } from '../group.ts'
import { type Channel, errorFrame, WireError } from '../wire.ts'
import { MAX_CODE_TRIES } from './constants.ts'
import { FromRequester, FromResponder, type FromRequesterMsg, type FromResponderMsg } from './messages.ts'
import { isCode, proof, proves, startRun, type Run } from './passkey.ts'

export type Outcome = 'accepted' | 'declined' | 'expired' | 'wrong-code'

/** Incoming: the person types the code the other device shows. Outgoing: this device shows `code`. Written once, in the API contract. */
export type PairingRequest = import('../../../shared/api/types.ts').PairingRequest

export interface SessionInit {
  record: PairingRequest
  /** The request's session (./code.ts sessionID): what the passkey runs are bound to. */
  session: Uint8Array
  ch: Channel
  /** Aborts the channel's reads and writes. */
  abort: (reason: Error) => void
  group: PairingGroup
  remoteAddr: string | undefined
  selfAddrs: () => string[]
  onDone: (outcome: Outcome) => void
  /** The record changed (tries left). */
  onChange: () => void
  log?: (msg: string) => void
}

const HANDOVER_MS = 20_000

type Reply = Extract<FromRequesterMsg, { t: 'reply' }>

export class Session {
  readonly record: PairingRequest
  readonly #init: SessionInit
  /** Both devices proved they hold the same code. */
  #matched = false
  #localDevices = 0
  #remoteDevices = 0
  #done = false
  #handover: Promise<void> | null = null
  /** Responder: the entry being checked, until the requester's reply. */
  #entry: { resolve: (m: Reply) => void; reject: (e: Error) => void } | null = null
  /** Requester: runs answered and runs that failed; the key of the last one while its outcome is open. */
  #runs = 0
  #failed = 0
  #lastKey: Buffer | null = null
  readonly #expiry: NodeJS.Timeout
  readonly #finished: Promise<Outcome>
  #resolveFinished: (o: Outcome) => void = () => {}

  constructor(init: SessionInit) {
    this.#init = init
    this.record = init.record
    this.#finished = new Promise((resolve) => { this.#resolveFinished = resolve })
    this.#expiry = setTimeout(() => this.#end('expired', new Error('the request expired')), Math.max(0, init.record.expiresAt - Date.now()))
    this.#expiry.unref()
    void (init.record.direction === 'incoming' ? this.#readRequester() : this.#readResponder())
  }

  get done(): boolean {
    return this.#done
  }

  get matched(): boolean {
    return this.#matched
  }

  /**
   * Responder: its person typed `code`. Resolves once paired; a wrong code is a PAIRING_WRONG_CODE
   * error with `details.triesLeft` (0: the request ended).
   */
  async enterCode(code: string): Promise<void> {
    if (this.record.direction !== 'incoming') throw new TandemError('INVALID_INPUT', 'This request is this device\'s own: type its code on the other device.')
    if (!isCode(code)) throw new TandemError('INVALID_INPUT', 'The code is the 6 digits the other device shows.')
    if (this.#matched) throw new TandemError('PAIRING_BUSY', 'The code was right: the pairing is finishing.')
    if (this.#entry !== null) throw new TandemError('PAIRING_BUSY', 'A code is being checked already.')
    const run = startRun(code, this.#init.session, 'responder')
    const replied = new Promise<Reply>((resolve, reject) => { this.#entry = { resolve, reject } })
    replied.catch(() => {})
    let reply: Reply
    let key: Buffer
    try {
      await this.#init.ch.send({ t: 'try', value: run.value })
      reply = await replied
      key = run.key(reply.value)
    } catch (err) {
      this.#end('expired', err as Error)
      throw new TandemError('PAIRING_FAILED', `The pairing broke off: ${(err as Error).message}`)
    } finally {
      this.#entry = null
    }
    if (this.#done) throw new TandemError('PAIRING_FAILED', 'The pairing broke off.')
    if (!proves(key, 'requester', reply.devices, reply.mac)) {
      const left = --this.record.triesLeft
      if (left <= 0) {
        await this.#init.ch.send(errorFrame('PAIRING_WRONG_CODE', 'The code was typed wrong too many times.')).catch(() => {})
        this.#end('wrong-code')
        throw new TandemError('PAIRING_WRONG_CODE', 'Wrong code, and that was the last try: the request is dropped. Ask again from the other device.', { triesLeft: 0 })
      }
      await this.#init.ch.send({ t: 'wrong' }).catch(() => {})
      this.#init.onChange()
      throw new TandemError('PAIRING_WRONG_CODE', `Wrong code: ${left} ${left === 1 ? 'try' : 'tries'} left. Type the code the other device shows.`, { triesLeft: left })
    }
    this.#matched = true
    this.#init.ch.authenticated() // the code matched: the other device's welcome may be large
    this.#remoteDevices = reply.devices
    this.#localDevices = this.#init.group.list().length
    try {
      await this.#init.ch.send({ t: 'confirm', mac: proof(key, 'responder', this.#localDevices), devices: this.#localDevices })
      await this.#startHandover()
    } catch (err) {
      this.#end('expired', err as Error)
      throw new TandemError('PAIRING_FAILED', `The pairing broke off: ${(err as Error).message}`)
    }
    const outcome = await this.#finished
    if (outcome !== 'accepted') throw new TandemError('PAIRING_FAILED', `The pairing did not complete (${outcome}).`)
  }

  /** Declines an incoming request, or withdraws an outgoing one. */
  async decline(): Promise<void> {
    if (this.#done) return
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
    clearTimeout(this.#expiry) // matched: the deadline no longer applies, the handover's own does
    const timer = setTimeout(() => this.#end('expired', new Error('the handover timed out')), HANDOVER_MS)
    timer.unref()
    try {
      if (!this.#iGive()) return // the welcome arrives in the read loop
      const { group, ch, selfAddrs, remoteAddr } = this.#init
      await group.add({ deviceID: this.record.peerID, name: this.record.claimedName, addrs: remoteAddr === undefined ? [] : [remoteAddr] })
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

  /** Responder: what the requester sends. */
  async #readRequester(): Promise<void> {
    for (;;) {
      const msg = await this.#next(FromRequester)
      if (msg === undefined) return
      try {
        if (msg.t === 'reply') {
          if (this.#entry === null) throw new WireError('a reply to no entry')
          this.#entry.resolve(msg)
          continue
        }
        if (this.#common(msg)) return
        await this.#welcomed(msg)
        return
      } catch (err) {
        return this.#violation(err as Error)
      }
    }
  }

  /** Requester: what the responder sends. */
  async #readResponder(): Promise<void> {
    const record = this.record
    if (record.direction !== 'outgoing') return
    for (;;) {
      const msg = await this.#next(FromResponder)
      if (msg === undefined) return
      try {
        if (msg.t === 'try') {
          // One run per entry on the other device, at most MAX_CODE_TRIES: each is one guess of the code.
          if (this.#matched) throw new WireError('an entry after the code matched')
          if (this.#runs >= MAX_CODE_TRIES) {
            await this.#init.ch.send(errorFrame('PAIRING_WRONG_CODE', 'No tries left.')).catch(() => {})
            return this.#end('wrong-code')
          }
          if (this.#lastKey !== null) this.#wrongEntry() // a new entry: the one before was wrong
          this.#runs += 1
          const run: Run = startRun(record.code, this.#init.session, 'requester')
          const key = run.key(msg.value)
          this.#localDevices = this.#init.group.list().length
          this.#lastKey = key
          await this.#init.ch.send({ t: 'reply', value: run.value, mac: proof(key, 'requester', this.#localDevices), devices: this.#localDevices })
          continue
        }
        if (msg.t === 'wrong') {
          if (this.#lastKey === null) throw new WireError('a wrong entry without a run')
          this.#wrongEntry()
          continue
        }
        if (msg.t === 'confirm') {
          if (this.#matched || this.#lastKey === null) throw new WireError('a confirmation out of turn')
          if (!proves(this.#lastKey, 'responder', msg.devices, msg.mac)) throw new WireError('a confirmation that does not prove the code')
          this.#matched = true
          this.#init.ch.authenticated() // the code matched: the other device's welcome may be large
          this.#remoteDevices = msg.devices
          await this.#startHandover()
          continue
        }
        if (this.#common(msg)) return
        await this.#welcomed(msg)
        return
      } catch (err) {
        return this.#violation(err as Error)
      }
    }
  }

  /** Requester: the last run failed (for its person: fewer tries left). */
  #wrongEntry(): void {
    this.#lastKey = null
    this.#failed += 1
    this.record.triesLeft = MAX_CODE_TRIES - this.#failed
    this.#init.onChange()
  }

  async #next<T>(schema: ZodType<T>): Promise<T | undefined> {
    try {
      const msg = await this.#init.ch.recv(schema)
      return this.#done ? undefined : msg
    } catch (err) {
      // The other side went away, or the deadline aborted the read.
      if (!this.#done) this.#end('expired', err as Error)
      return undefined
    }
  }

  /** A decline or an error: ends the session (true). */
  #common(msg: FromRequesterMsg | FromResponderMsg): boolean {
    if (msg.t === 'decline') { this.#end('declined'); return true }
    if ('error' in msg) {
      if (msg.code === 'PAIRING_WRONG_CODE') this.#end('wrong-code')
      else this.#end('expired', new WireError(`the other device answered: ${msg.error}`))
      return true
    }
    return false
  }

  /** A welcome: only once the code matched, and only from the side that gives. */
  async #welcomed(msg: FromRequesterMsg | FromResponderMsg): Promise<void> {
    if (msg.t !== 'welcome') throw new WireError(`an unexpected ${msg.t}`)
    if (!this.#matched || this.#iGive()) throw new WireError('a group handed over out of turn')
    await this.#adopt(msg.name, msg.state as unknown as GroupState)
    this.#end('accepted')
  }

  #violation(err: Error): void {
    this.#init.log?.(`nearby pairing with ${this.record.peerID}: ${err.message}`)
    this.#end('expired', err)
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
    this.#entry?.reject(err ?? new Error(`the request ended (${outcome})`))
    if (err !== undefined) this.#init.abort(err)
    else void this.#init.ch.close()
    if (err !== undefined && outcome === 'expired') this.#init.log?.(`nearby pairing ${this.record.id} ended: ${err.message}`)
    this.#resolveFinished(outcome)
    this.#init.onDone(outcome)
  }
}
