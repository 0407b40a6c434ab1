export const PROTOCOL = '/tandem/schema/1.0.0'
/** Collections named in one exchange. */
export const MAX_COLLECTIONS = 1024
/** Version IDs named per collection, and versions sent in one message (MAX_VERSIONS of versions.ts). */
export const MAX_IDS = 1024
export const MAX_SENT = 2048
/** Version IDs asked for by ID (blocks waiting for them). */
export const MAX_WANT = 256
/** A message: a few hundred versions of up to 256 fields each. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024
export const TIMEOUT_MS = 20_000
export const MAX_INBOUND_STREAMS = 4
