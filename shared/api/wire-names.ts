/**
 * The names of the WebSocket transport (see wire.ts), without zod: the browser window imports these
 * and so does not bundle the schema library it never runs.
 */
export const API_PATH = '/api'
export const API_PROTOCOL = 'tandem.v1'
export const TOKEN_PROTOCOL_PREFIX = 'tandem-token.'
export const DEFAULT_API_ADDR = '127.0.0.1:9181'
export const SUBSCRIBE = 'events.subscribe'
export const UNSUBSCRIBE = 'events.unsubscribe'
