/**
 * The blocks one sync found missing here, as its head exchange streams in: cut into chunks that
 * the syncs with every connected device take, one at a time, and fetch from their own device.
 *
 * A device catching up used to compare every head first (a second for 100k documents), then fetch:
 * now the first chunk is fetched while the rest of the heads still arrive. Syncs with other devices
 * that start meanwhile take chunks of the same plan rather than comparing on their own, so each
 * block is asked of one device, and the holders share the work by how fast each one answers.
 */

export interface FetchChunk {
  /** Blocks to fetch (with their ancestors). */
  want: string[]
  /** Heads held here of the same documents, where the sender's walk stops. */
  have: string[]
}

export class FetchPlan {
  /** The collections compared (sorted, joined): only syncs of the same scope share a plan. */
  readonly scope: string
  readonly #chunkCIDs: number
  readonly #ready: FetchChunk[] = []
  #partial: FetchChunk = { want: [], have: [] }
  #ended = false
  /** Chunks taken and not yet fetched (or given back). */
  #out = 0
  #waiters: Array<() => void> = []
  /** Blocks planned so far (the sync's report). */
  planned = 0

  constructor(scope: string, chunkCIDs: number) {
    this.scope = scope
    this.#chunkCIDs = chunkCIDs
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
   * The next chunk nobody has taken: a whole one, else what has been planned since (a lane with
   * nothing to do takes it rather than wait for more). Waits while the plan is still being made;
   * null once it is over and every chunk is taken, or when nothing came for `waitMs` (if given).
   */
  async take(waitMs?: number): Promise<FetchChunk | null> {
    for (;;) {
      const whole = this.#ready.shift()
      if (whole !== undefined) { this.#out++; return whole }
      if (this.#partial.want.length > 0) {
        const part = this.#partial
        this.#partial = { want: [], have: [] }
        this.#out++
        return part
      }
      if (this.#ended) return null
      let timer: NodeJS.Timeout | undefined
      const came = await new Promise<boolean>((resolve) => {
        this.#waiters.push(() => resolve(true))
        if (waitMs !== undefined) timer = setTimeout(() => resolve(false), waitMs)
      })
      clearTimeout(timer)
      if (!came) return null
    }
  }

  /** A taken chunk has been fetched. */
  fetched(): void {
    this.#out--
    this.#wake()
  }

  /** A chunk whose fetch failed (its device gone): for another sync to take. */
  giveBack(chunk: FetchChunk): void {
    this.#out--
    this.#ready.unshift(chunk)
    this.#wake()
  }

  /**
   * Once the plan is over and no chunk is being fetched: what it found missing is here (or was
   * given back and left). A sync that helped compares only then, not while the last chunks still
   * arrive (it would find them missing, and have their heads sent again).
   */
  async settled(): Promise<void> {
    while (!(this.#ended && this.#out === 0)) await new Promise<void>((resolve) => { this.#waiters.push(resolve) })
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }
}
