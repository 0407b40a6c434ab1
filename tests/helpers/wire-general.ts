/**
 * The general path of a channel's `recv` (main/net/wire.ts): dag-cbor decode, then the message's
 * zod schema. The fast readers' tests compare what those readers give with it.
 */
import * as dagCbor from '@ipld/dag-cbor'
import type { z } from 'zod'

/** What the general path gives for these bytes, or undefined where it refuses them. */
export function generalPath(schema: z.ZodType, data: Uint8Array): unknown {
  try {
    const r = schema.safeParse(dagCbor.decode(data))
    return r.success ? r.data : undefined
  } catch {
    return undefined
  }
}
