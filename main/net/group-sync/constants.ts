export const PROTOCOL = '/tandem/group/1.0.0'
/** A group state: up to 256 devices × (ID, name, 16 addresses). */
export const MAX_MESSAGE_BYTES = 1024 * 1024
export const TIMEOUT_MS = 15_000
export const MAX_INBOUND_STREAMS = 4
/** Telling a device it was removed: one small message, to a device that may be going away; removeDevice tries a few times. */
export const REMOVED_MESSAGE_BYTES = 1024
export const REMOVED_TIMEOUT_MS = 5_000
