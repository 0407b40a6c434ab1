export const PROTOCOL = '/tandem/dag/1.0.0'
/**
 * Blocks asked for or named as already held, per request: a resync of 10k documents in one round
 * (each round trip costs a stream and a walk); the request stays under ~2.5 MB.
 */
export const MAX_CIDS_PER_REQUEST = 16_384
/**
 * The asker splits a long list of wanted blocks into requests of this many, FETCHES_IN_FLIGHT at a
 * time: the peer reads and walks the next while the asker applies the one before.
 */
export const FETCH_CHUNK_CIDS = 4096
export const FETCHES_IN_FLIGHT = 2
/**
 * A device's first request of a catch-up (node/fetch-plan.ts): what it costs to receive from each
 * device is known after this many blocks. Under BULK_CHUNK_CIDS, so it does not wait its turn
 * behind the long requests.
 */
export const FETCH_PROBE_CIDS = 128
/**
 * Requests of a long list (a chunk of at least BULK_CHUNK_CIDS) in flight on this device, whichever
 * peers they go to: a device catching up from several holders keeps the pipeline one holder keeps
 * (the receiver's checks and commits are what limit it), the holders taking turns. Shorter
 * requests (an edit's missing ancestors) do not wait behind them.
 */
export const BULK_REQUESTS_IN_FLIGHT = 2
export const BULK_CHUNK_CIDS = 256
/**
 * Blocks the answerer reads at once: it frames and sends what it has read while it reads the next
 * slice (a chunk of FETCH_CHUNK_CIDS read whole before its first frame left kept the asker waiting).
 */
export const READ_SLICE = 1024
/** Blocks per response; the asker continues from where the answer stopped. */
export const MAX_BLOCKS_PER_RESPONSE = 10_000
/** Bytes of blocks per response, so one answer never holds more than this in memory at either end. */
export const MAX_BYTES_PER_RESPONSE = 16 * 1024 * 1024
/**
 * Blocks and bytes per frame of the answer. Each frame is one atomic commit at the receiver, so
 * frames are large (bounded by bytes: ~1400 blocks of ~720 B); the receiver applies one frame
 * while the next travels.
 */
export const FRAME_BLOCKS = 2048
export const FRAME_BYTES = 1024 * 1024
/** A frame is at most FRAME_BYTES of blocks plus one block (≤ 1 MiB) plus framing. */
export const MAX_MESSAGE_BYTES = 2 * 1024 * 1024 + 64 * 1024
/** The whole exchange, so a stalled peer cannot hold a stream (and its memory) open. */
export const TIMEOUT_MS = 30_000
/** Request size cap: want + have CIDs (≤ ~64 B each on the wire) plus framing. */
export const MAX_REQUEST_BYTES = 64 * 1024 + MAX_CIDS_PER_REQUEST * 2 * 70
/** Concurrent DAG-sync streams one peer may open to us. */
export const MAX_INBOUND_STREAMS = 4
