/**
 * Errors in words a person understands: the node's messages are already written for people, so
 * keep them, and say what to do for the codes where that helps.
 */
import { ApiCallError } from '../../../shared/api/errors.ts'

const ADVICE: Partial<Record<string, string>> = {
  UNREACHABLE: 'The other device could not be reached. Check that it is on and online, then try again.',
  NETWORK_OFF: 'This device is offline. Go online (This device) and try again.',
  INVITE_EXPIRED: 'This invite has expired. Ask for a new one on the other device.',
  INVITE_USED: 'This invite was already used. Ask for a new one on the other device.',
  INVITE_MALFORMED: 'That does not look like a Tandem invite. Copy the whole tandem://pair… text again.',
  ALREADY_PAIRED: 'These devices are already paired.',
  UNAUTHORIZED: 'The window lost its permission to talk to the node. Open it again from the URL the node printed.',
  NODE_STARTING: 'Tandem is still starting: try again in a moment.',
  INTERNAL: 'Something went wrong inside Tandem.',
}

export function humanError(err: unknown): string {
  if (err instanceof ApiCallError) {
    const advice = ADVICE[err.code]
    return advice === undefined ? err.message : `${advice} (${err.message})`
  }
  if (err instanceof Error) return err.message
  return String(err)
}
