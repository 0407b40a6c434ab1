export const PROTOCOL = '/tandem/pair/1.0.0'
export const DEFAULT_TTL_MINUTES = 10
export const MAX_TTL_MINUTES = 24 * 60
/** Wrong codes tried against one invite before it is burnt (a 128-bit code is not guessable; this stops trying). */
export const MAX_WRONG_ATTEMPTS = 5
export const MAX_MESSAGE_BYTES = 1024 * 1024
export const TIMEOUT_MS = 20_000
export const MAX_INBOUND_STREAMS = 4
export const NONCE_BYTES = 16
