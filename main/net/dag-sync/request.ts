/**
 * The request a fetch sends (dag-sync.ts): `{ v: 1, want: [CID…], have: [CID…] }`, and a fast
 * reader of it. An answerer of a catch-up reads one request of up to 4096 CIDs a chunk; zod walked
 * each CID string through its checks (~1% of a 100k-document catch-up's event loop). The reader
 * checks the decoded value by hand, as head-exchange/frames.ts does for frames of heads.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { z } from 'zod'
import { cidString, isCIDString } from '../wire.ts'
import { MAX_CIDS_PER_REQUEST } from './constants.ts'

export const Request = z.object({
  v: z.literal(1),
  want: z.array(cidString).min(1).max(MAX_CIDS_PER_REQUEST),
  have: z.array(cidString).max(MAX_CIDS_PER_REQUEST),
})
export type FetchRequest = z.infer<typeof Request>

/**
 * A request checked by hand: the very value the general path (dag-cbor, then `Request`) gives, or
 * null to leave the message to it (one it refuses and words the error for, or one with keys it
 * would drop).
 */
export function readRequest(data: Uint8Array): FetchRequest | null {
  let v: unknown
  try {
    v = dagCbor.decode(data)
  } catch {
    return null
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return null
  const keys = Object.keys(v)
  if (keys.length !== 3) return null
  const { v: version, want, have } = v as Record<string, unknown>
  if (version !== 1 || !cidList(want, 1) || !cidList(have, 0)) return null
  return v as FetchRequest
}

function cidList(list: unknown, min: number): list is string[] {
  if (!Array.isArray(list) || list.length < min || list.length > MAX_CIDS_PER_REQUEST) return false
  for (const c of list as unknown[]) if (!isCIDString(c)) return false
  return true
}
