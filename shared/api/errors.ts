/**
 * The error every call can fail with, over any transport: a stable `code` (shared/errors.ts) to
 * branch on and a `message` written for people. `details` holds optional machine-readable facts.
 */
import type { ErrorCode } from '../errors.ts'

export interface ApiError {
  code: ErrorCode
  message: string
  details?: Record<string, unknown>
}

/** What a client throws when a call fails: the same fields as ApiError, as an Error. */
export class ApiCallError extends Error {
  readonly code: ErrorCode
  readonly details: Record<string, unknown>
  constructor(error: ApiError) {
    super(error.message)
    this.name = 'ApiCallError'
    this.code = error.code
    this.details = error.details ?? {}
  }
}
