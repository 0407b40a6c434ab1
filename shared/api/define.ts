/**
 * How a call is declared: a zod schema for its input (checked at run time by the implementation,
 * whatever the transport) and a phantom for its output type (outputs are produced by our own code,
 * so they are typed, not re-validated). Browser-safe: no node: imports anywhere under shared/.
 */
import { z } from 'zod'

export interface CallSpec<I extends z.ZodType, O> {
  readonly input: I
  /** Type-level only; never read at run time. */
  readonly output?: O
  /** One sentence for people (CLI help, docs). */
  readonly summary: string
}

export function call<O>() {
  return <I extends z.ZodType>(summary: string, input: I): CallSpec<I, O> => ({ input, summary })
}

/** Calls that take nothing accept `{}` or no input at all. */
export const Empty = z.object({}).strict().optional()

/** A libp2p peer ID (checked fully by the node; this only bounds and shapes it). */
export const PeerIDInput = z.string().min(1).max(128).regex(/^[A-Za-z0-9]+$/, 'a peer ID like 12D3KooW…')
export const CollectionInput = z.string().min(1).max(256)
export const DocIDInput = z.string().min(1).max(256)
export const MultiaddrInput = z.string().min(1).max(1024)
