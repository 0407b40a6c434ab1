/**
 * 2.0.0: passkey entry (SPEKE). Devices of 1.0.0 (codes compared on both screens) fail protocol
 * selection both ways, which each side reports as "an older/newer Tandem", never a half-run pairing.
 */
export const PROTOCOL = '/tandem/nearby/2.0.0'
/** A request lasts this long from the moment it is shown on the other device. */
export const REQUEST_TTL_MS = 2 * 60_000
/** The handshake (request, nonce, reveal, shown) must finish within this. */
export const HANDSHAKE_MS = 10_000
/** Incoming requests pending at once (handshakes included); more are refused as busy. */
export const MAX_INCOMING = 8
/** Outgoing requests pending at once. */
export const MAX_OUTGOING = 4
/** Streams one connection may hold open on this protocol (one request per peer is pending at a time). */
export const MAX_INBOUND_STREAMS = 2
/**
 * A welcome carries the group state: up to 256 devices × (ID, name, 16 addresses). Messages before
 * this person accepted the other device are capped at wire.ts's MAX_PREAUTH_MESSAGE_BYTES.
 */
export const MAX_MESSAGE_BYTES = 1024 * 1024
export const NONCE_BYTES = 16
export const COMMIT_BYTES = 32
export const CODE_DIGITS = 6
/** mDNS asks every 10 s; a device not heard of for this long is no longer nearby. */
export const NEARBY_STALE_MS = 35_000
/** Devices listed as nearby at most (a LAN full of fake mDNS answers cannot grow it further). */
export const MAX_NEARBY = 64
/**
 * Incoming requests are taken only while the person has opened "Pair nearby" on this device, for
 * this long from the moment they opened it (opening it again starts it anew). Outside it every
 * request is refused (PAIRING_CLOSED); when it closes, incoming requests still pending end.
 */
export const PAIRING_OPEN_MS = 3 * 60_000
/** Wrong entries of the code one request allows; after the last it ends ('wrong-code'). */
export const MAX_CODE_TRIES = 3
/**
 * Per source address (an IPv4 address, an IPv6 /64, a relay): requests pending at once, and
 * requests started per minute. Many peer IDs on one address cannot fill the MAX_INCOMING slots.
 */
export const MAX_PENDING_PER_SOURCE = 2
export const MAX_REQUESTS_PER_SOURCE_PER_MINUTE = 10
/** Source addresses tracked at once (each for a minute); beyond it new sources are refused as busy. */
export const MAX_SOURCES = 1024
