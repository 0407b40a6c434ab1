/** Any failure → the contract's {code, message}: TandemErrors keep theirs, zod errors are INVALID_INPUT, the rest INTERNAL. */
import { z } from 'zod'
import { isTandemError } from '../../shared/errors.ts'
import type { ApiError } from '../../shared/api/index.ts'

export function toApiError(err: unknown): ApiError {
  if (isTandemError(err)) {
    const e: ApiError = { code: err.code, message: err.message }
    if (Object.keys(err.details).length > 0) e.details = err.details
    return e
  }
  if (err instanceof z.ZodError) return { code: 'INVALID_INPUT', message: describeZod(err) }
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) }
}

export function describeZod(err: z.ZodError): string {
  const parts = err.issues.slice(0, 5).map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`)
  return `Invalid input: ${parts.join('; ')}${err.issues.length > 5 ? ` (and ${err.issues.length - 5} more)` : ''}.`
}
