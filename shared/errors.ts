/**
 * Error codes every layer shares (database, API, CLI, window). A code is stable; the message is for
 * people. Callers branch on `code`, never on message text.
 */
export const ERROR_CODES = [
  'SCHEMA_INVALID',
  'UNKNOWN_SCALAR',
  'DUPLICATE_COLLECTION',
  /** `collection update`: the new schema would change a field's type, or make values required that may be missing. */
  'SCHEMA_INCOMPATIBLE',
  'UNKNOWN_COLLECTION',
  'UNKNOWN_FIELD',
  'WRONG_TYPE',
  'MISSING_REQUIRED',
  'INVALID_INPUT',
  'NOT_FOUND',
  'DOC_DELETED',
  'BLOCK_INVALID',
  'BAD_CID',
  'BAD_SIGNATURE',
  'UNTRUSTED_AUTHOR',
  'DATA_DIR_LOCKED',
  'DATA_DIR_INVALID',
  'CLOSED',
  'INVITE_MALFORMED',
  'INVITE_EXPIRED',
  'INVITE_USED',
  'INVITE_WRONG_CODE',
  'INVITE_UNKNOWN',
  'ALREADY_PAIRED',
  /** Joining an invite would merge two groups (this device has devices already): confirm to go on. */
  'MERGE_NOT_CONFIRMED',
  'UNREACHABLE',
  'NETWORK_OFF',
  /** Nearby pairing: too many requests pending (here or on the other device), or one to this device already. */
  'PAIRING_BUSY',
  /** Nearby pairing: the other device broke off or answered wrongly. */
  'PAIRING_FAILED',
  /** Nearby pairing: the other device takes requests only while "Pair nearby" is open on it. */
  'PAIRING_CLOSED',
  /** Nearby pairing: the code typed is not the one the other device shows (`details.triesLeft`). */
  'PAIRING_WRONG_CODE',
  /** A backup file that is damaged, truncated or not a backup (the message names the position). */
  'BACKUP_INVALID',
  // API and transports
  /** The node is still starting (maybe upgrading its data directory): only `node.status` answers; ask again when it says ready. */
  'NODE_STARTING',
  'UNKNOWN_CALL',
  'UNAUTHORIZED',
  'BAD_FRAME',
  'NOT_SUPPORTED',
  'INTERNAL',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

export class TandemError extends Error {
  readonly code: ErrorCode
  /** Extra machine-readable facts (field name, collection, …) for clients that want them. */
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message)
    this.name = 'TandemError'
    this.code = code
    this.details = details
  }
}

export function isTandemError(err: unknown, code?: ErrorCode): err is TandemError {
  return err instanceof TandemError && (code === undefined || err.code === code)
}
