export const PROTOCOL = '/tandem/heads/1.0.0'
/** Collections compared in one exchange. */
export const MAX_COLLECTIONS = 1024
/** Document heads per answer frame. */
export const FRAME_DOCS = 2000
/** Largest message: a frame of heads (2000 docs × a few CIDs) or 1024 collections' bucket digests. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024
/** The whole exchange; a large collection's differing buckets stream well within this on a LAN. */
export const TIMEOUT_MS = 60_000
export const MAX_INBOUND_STREAMS = 4
/** Heads of one document: more than a person's devices could make concurrently. */
export const MAX_HEADS = 256
