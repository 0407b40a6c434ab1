/**
 * The blocks one sync found missing here, as its head exchange streams in: cut into chunks that
 * the syncs with every connected device take, one at a time, and fetch from their own device.
 *
 * A device catching up used to compare every head first (a second for 100k documents), then fetch:
 * now the first chunk is fetched while the rest of the heads still arrive. Syncs with other devices
 * that start meanwhile take chunks of the same plan rather than comparing on their own, so each
 * block is asked of one device.
 *
 * Which device: the one cheapest to receive from. Blocks a device wrote itself come covered by its
 * one attestation per frame; anyone else's are checked one by one here (signatures, proof paths),
 * which on a busy device costs more than the holders' answering saves. So each device's first
 * chunk, a short probe, tells what share of what it sends it attested, and a device yields to one
 * that attests clearly more, unless that one answers much slower (a far link): then fetching from
 * several wins.
 */

export interface FetchChunk {
  /** Blocks to fetch (with their ancestors). */
  want: string[]
  /** Heads held here of the same documents, where the sender's walk stops. */
  have: string[]
  /** Devices that were asked for these and said they lack them: not asked again. */
  lackedBy?: ReadonlySet<string>
}

interface DeviceCost {
  /** Of the blocks it sent, the share it wrote itself and attested. */
  attestedShare: number
  /** Its requests' time in flight per block received. */
  msPerBlock: number
}

/** A device yields to one whose attested share is at least this much larger… */
const CLEARLY_MORE = 0.25
/** …and which takes at most this many times as long per block… */
const SLOWER_AT_MOST = 2
/** …and has not had a chunk out this long without one arriving (a request of 4096 takes ~0.5 s here). */
const STALLED_MS = 3_000

export class FetchPlan {
  /** The collections compared (sorted, joined): only syncs of the same scope share a plan. */
  readonly scope: string
  readonly #chunkCIDs: number
  readonly #probeCIDs: number
  readonly #stalledMs: number
  readonly #ready: FetchChunk[] = []
  #partial: FetchChunk = { want: [], have: [] }
  #ended = false
  #waiters: Array<() => void> = []
  /** Blocks planned so far (the sync's report). */
  planned = 0
  /** Lanes taking chunks of this plan, by the device they fetch from. */
  readonly #lanes = new Map<string, number>()
  /** Chunks taken and not yet fetched (or given back), by device. */
  readonly #outBy = new Map<string, number>()
  /** What each device's last fetch cost, once one is over. */
  readonly #costs = new Map<string, DeviceCost>()
  /** When each device last took a chunk while it had none out, or had one arrive. */
  readonly #progress = new Map<string, number>()

  /**
   * `chunkCIDs`: blocks per chunk. `probeCIDs`: what a device whose cost is not known yet takes
   * (its first chunk): short, so that what each costs is known after little has been fetched.
   * `stalledMs`: see STALLED_MS.
   */
  constructor(scope: string, chunkCIDs: number, options: { probeCIDs?: number; stalledMs?: number } = {}) {
    this.scope = scope
    this.#chunkCIDs = chunkCIDs
    this.#probeCIDs = options.probeCIDs ?? Infinity
    this.#stalledMs = options.stalledMs ?? STALLED_MS
  }

  /** Adds the wanted blocks of some documents, and what is held here of them. */
  add(want: readonly string[], have: readonly string[]): void {
    if (this.#ended || want.length === 0) return
    this.planned += want.length
    this.#partial.want.push(...want)
    this.#partial.have.push(...have)
    if (this.#partial.want.length >= this.#chunkCIDs) {
      this.#ready.push(this.#partial)
      this.#partial = { want: [], have: [] }
    }
    this.#wake()
  }

  /** No more will be added. */
  end(): void {
    this.#ended = true
    this.#wake()
  }

  get ended(): boolean {
    return this.#ended
  }

  /**
   * The next chunk nobody has taken, for a lane fetching from device `from`: a whole one, else what
   * has been planned since (a lane with nothing to do takes it rather than wait for more). Waits
   * while the plan is still being made, or while `from` yields to a cheaper device (`#yields`); null
   * once it is over and every chunk is taken, or when nothing came for `waitMs` (if given).
   */
  async take(from: string, waitMs?: number): Promise<FetchChunk | null> {
    let yielding = false
    for (;;) {
      if (!this.#yields(from)) {
        let chunk: FetchChunk | undefined
        const at = this.#ready.findIndex((c) => c.lackedBy?.has(from) !== true)
        if (at >= 0) chunk = this.#ready.splice(at, 1)[0]
        else if (this.#partial.want.length > 0) {
          chunk = this.#partial
          this.#partial = { want: [], have: [] }
        }
        if (chunk !== undefined) {
          if (!this.#costs.has(from) && chunk.want.length > this.#probeCIDs) {
            // A probe: the rest stays first in line (the same heads held here stop both walks).
            this.#ready.splice(at >= 0 ? at : 0, 0, { ...chunk, want: chunk.want.slice(this.#probeCIDs) })
            chunk = { ...chunk, want: chunk.want.slice(0, this.#probeCIDs) }
          }
          const out = this.#outBy.get(from) ?? 0
          if (out === 0) this.#progress.set(from, performance.now())
          this.#outBy.set(from, out + 1)
          this.#wake() // the plan may have run out: lanes that yield learn it
          return chunk
        }
      } else if (this.#takeable(from)) {
        yielding = true
      }
      // Over: nothing left that this device has not said it lacks.
      if (this.#ended && !this.#takeable(from)) return null
      let timer: NodeJS.Timeout | undefined
      let stall: NodeJS.Timeout | undefined
      const came = await new Promise<boolean>((resolve) => {
        this.#waiters.push(() => resolve(true))
        if (waitMs !== undefined) timer = setTimeout(() => resolve(false), waitMs)
        // Yielding, it looks again once the device it yields to may have stalled.
        if (yielding) stall = setTimeout(() => resolve(true), this.#stalledMs)
      })
      clearTimeout(timer)
      clearTimeout(stall)
      yielding = false
      if (!came) return null
    }
  }

  /** A lane fetching from `device` starts taking chunks of this plan. */
  enter(device: string): void {
    this.#lanes.set(device, (this.#lanes.get(device) ?? 0) + 1)
  }

  /** That lane is done. */
  leave(device: string): void {
    const n = (this.#lanes.get(device) ?? 1) - 1
    if (n > 0) this.#lanes.set(device, n)
    else this.#lanes.delete(device)
    this.#wake()
  }

  /**
   * Whether a lane of `from` leaves the chunks to others for now:
   * - while its cost is unknown and it already has a chunk out, when other devices share the plan
   *   (one chunk each tells what each costs; a device alone keeps its lanes full);
   * - while another device's probe is out (it may turn out cheaper), unless this one attested so
   *   much that none can be clearly cheaper;
   * - while a device with a lane here attested a share of its blocks clearly larger and answers no
   *   more than SLOWER_AT_MOST times slower per block.
   * Never to a device that has stalled (a chunk out for `stalledMs` with none arriving). Two
   * devices never yield to each other: one yields only to a device whose cost is unknown (which
   * yields to nobody while its probe is out) or clearly lower.
   */
  #yields(from: string): boolean {
    const mine = this.#costs.get(from)
    if (mine === undefined) return (this.#outBy.get(from) ?? 0) > 0 && this.#lanes.size > 1
    const now = performance.now()
    for (const device of this.#lanes.keys()) {
      if (device === from) continue
      const out = this.#outBy.get(device) ?? 0
      if (out > 0 && now - (this.#progress.get(device) ?? now) >= this.#stalledMs) continue // stalled
      const other = this.#costs.get(device)
      // Its probe is still out: it may be the cheaper one (unless none can be: this one attested all).
      if (other === undefined) {
        if (out > 0 && mine.attestedShare + CLEARLY_MORE <= 1) return true
        continue
      }
      if (other.attestedShare >= mine.attestedShare + CLEARLY_MORE && other.msPerBlock <= SLOWER_AT_MOST * mine.msPerBlock) return true
    }
    return false
  }

  /**
   * A chunk taken by a lane of `from` has been fetched: what it cost (the blocks asked for, those
   * received, those of them attested, the time in flight). A device that sent none of what it was
   * asked (it lacks them) counts as attesting none: nobody waits for it, and it yields to any
   * device that attests.
   */
  fetched(from: string, cost?: { asked: number; received: number; attested: number; ms: number }): void {
    this.#release(from)
    this.#progress.set(from, performance.now())
    if (cost !== undefined && cost.received > 0) {
      this.#costs.set(from, { attestedShare: cost.attested / cost.received, msPerBlock: cost.ms / cost.received })
    } else if (cost !== undefined && cost.asked > 0) {
      this.#costs.set(from, { attestedShare: 0, msPerBlock: Infinity }) // as slow as can be: it brings nothing
    }
    this.#wake()
  }

  /**
   * Blocks of a chunk taken by `from` that it said it lacks: first in line again, for any other
   * device (the heads held here, `have`, as with the chunk). Fetched by nobody, they are left to the
   * next sync with a device that has them.
   */
  lacking(from: string, chunk: FetchChunk, missing: readonly string[]): void {
    if (missing.length === 0) return
    const lackedBy = new Set(chunk.lackedBy ?? [])
    lackedBy.add(from)
    this.#ready.unshift({ want: [...missing], have: chunk.have, lackedBy })
    this.#wake()
  }

  /** Whether a chunk is left that `from` may take. */
  #takeable(from: string): boolean {
    return this.#partial.want.length > 0 || this.#ready.some((c) => c.lackedBy?.has(from) !== true)
  }

  /** A chunk whose fetch from `from` failed (its device gone): for another sync to take. */
  giveBack(from: string, chunk: FetchChunk): void {
    this.#release(from)
    this.#ready.unshift(chunk)
    this.#wake()
  }

  /**
   * Once the plan is over, no chunk is being fetched, and none is left that a device with a lane
   * here may take (blocks one device lacked, given back for another): what it found missing is
   * here (or was given back and left). A sync that helped compares only then, not while the last
   * chunks still arrive (it would find them missing, and have their heads sent again).
   */
  async settled(): Promise<void> {
    while (!(this.#ended && this.#outBy.size === 0 && ![...this.#lanes.keys()].some((d) => this.#takeable(d)))) {
      await new Promise<void>((resolve) => { this.#waiters.push(resolve) })
    }
  }

  /** A chunk `from` took is no longer out. */
  #release(from: string): void {
    const n = (this.#outBy.get(from) ?? 1) - 1
    if (n > 0) this.#outBy.set(from, n)
    else this.#outBy.delete(from)
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }
}
