/** Assertions on the TandemErrors the API throws. */
import assert from 'node:assert/strict'
import { isTandemError, type ErrorCode } from '../../shared/errors.ts'

/** For assert.rejects: a TandemError with `code` (and, when given, a message matching `message`). */
export function fails(code: ErrorCode, message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(isTandemError(err), String(err))
    assert.equal(err.code, code, err.message)
    if (message) assert.match(err.message, message)
    return true
  }
}
