export const PROTOCOL = '/tandem/group/1.0.0'
/** A group state: up to 256 devices × (ID, name, 16 addresses). */
export const MAX_MESSAGE_BYTES = 1024 * 1024
export const TIMEOUT_MS = 15_000
export const MAX_INBOUND_STREAMS = 4
