/**
 * The mass-delete guard: deletions by another device of a large share of a collection in a short
 * window are held (the documents still read as alive, marked `held`) until the person keeps them
 * (release) or restores the documents (reject). Browser-safe.
 */
import { z } from 'zod'
import { call, Empty } from './define.ts'
import type { CollectionID, DeviceID, DocID } from '../types.ts'

export interface HeldBatchInfo {
  /** The batch ID to release or reject. */
  id: string
  collection: CollectionID
  collectionName: string
  /** The device whose deletions are held, and its name when known. */
  device: DeviceID
  deviceName: string
  /** Documents held now. */
  docs: number
  /** Live documents of the collection when the deletions began. */
  liveAtStart: number
  /** Arrival here of the first and the latest held deletion (ms since epoch). */
  firstAt: number
  lastAt: number
  /** Some of the held documents (at most 10). */
  sample: DocID[]
}

export interface HeldOutcome {
  batch: HeldBatchInfo
  /** Reject: documents restored by new changes (the others were alive again already). */
  restored?: number
}

/** A batch ID as sync.held lists it. */
export const HeldBatchInput = z.object({ id: z.string().min(1).max(64).regex(/^[0-9a-f]+$/, 'a batch ID as sync held lists it') }).strict()

export const heldCalls = {
  'sync.held': call<HeldBatchInfo[]>()('Deletions held by the mass-delete guard, by batch: collection, device, how many, when.', Empty),
  'sync.release': call<HeldOutcome>()('Keep a held batch of deletions: its documents become deleted here (the trash has them).', HeldBatchInput),
  'sync.reject': call<HeldOutcome>()('Reject a held batch: every document is restored by a new change that reaches every device.', HeldBatchInput),
}
