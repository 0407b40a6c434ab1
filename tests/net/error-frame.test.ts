/**
 * The one error frame (wire.ts) between peers of different versions: every reader a peer had
 * before it (copied here as they were) takes it for the error it is, in the same words; and this
 * version's reader takes each older shape, with the code its protocol meant, as a TandemError.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { z } from 'zod'
import { errorFrame, MAX_ERROR_CHARS, peerError, peerErrorMessage } from '../../main/net/wire.ts'
import { isTandemError } from '../../shared/errors.ts'

const onTheWire = (value: unknown): unknown => dagCbor.decode(dagCbor.encode(value))

// The error shapes older peers read, as their schemas had them (each beside the data shapes it
// was in a union with, so that the frame must not pass for data either).
const olderReaders = {
  'dag-sync frame': z.union([
    z.object({ blocks: z.array(z.instanceof(Uint8Array)) }),
    z.object({ done: z.literal(true), truncated: z.boolean(), missing: z.array(z.string()) }),
    z.object({ error: z.string().max(500) }),
  ]),
  'head-exchange buckets': z.union([
    z.object({ cols: z.array(z.unknown()), unknown: z.array(z.string()) }),
    z.object({ error: z.string().max(500) }),
  ]),
  'replicate ack': z.union([
    z.object({ ok: z.literal(true), applied: z.number().int(), duplicate: z.number().int(), pending: z.array(z.string()), rejected: z.number().int() }),
    z.object({ ok: z.literal(false), error: z.string().max(500) }),
  ]),
  'group-sync message': z.union([
    z.object({ t: z.literal('state') }),
    z.object({ t: z.literal('removed') }),
    z.object({ t: z.literal('error'), error: z.string().max(500) }),
  ]),
  'pairing and nearby error': z.object({ t: z.literal('error'), code: z.string().max(64), error: z.string().max(500) }),
}

test('an older peer reads the error frame as an error, in the same words', () => {
  const frame = onTheWire(errorFrame('UNAUTHORIZED', 'refused: not a device of this group'))
  for (const [name, reader] of Object.entries(olderReaders)) {
    const parsed = reader.safeParse(frame)
    assert.ok(parsed.success, `${name}: the frame is not malformed to it`)
    const value = parsed.data as Record<string, unknown>
    assert.equal(value.error, 'refused: not a device of this group', name)
    assert.ok(!('blocks' in value) && !('cols' in value) && value.ok !== true && value.t !== 'state', `${name}: not data`)
  }
  // A long message is cut to what every older reader takes.
  const long = onTheWire(errorFrame('INTERNAL', 'x'.repeat(2000)))
  for (const reader of Object.values(olderReaders)) assert.ok(reader.safeParse(long).success)
  assert.equal((long as { error: string }).error.length, MAX_ERROR_CHARS)
})

test("this version reads the frame and every older peer's error shape, with a code", () => {
  const read = (value: unknown, legacy: 'UNAUTHORIZED' | 'INTERNAL' = 'UNAUTHORIZED'): ReturnType<typeof peerError> =>
    peerError(peerErrorMessage.parse(onTheWire(value)), 'peer answered', legacy)
  const frame = read(errorFrame('CLOSED', 'The database is closed.'))
  assert.ok(isTandemError(frame, 'CLOSED'))
  assert.equal(frame.message, 'peer answered: The database is closed.')
  assert.equal(frame.details.remote, true)
  for (const older of [{ error: 'refused' }, { ok: false, error: 'refused' }, { t: 'error', error: 'refused' }]) {
    const err = read(older)
    assert.ok(isTandemError(err, 'UNAUTHORIZED'), JSON.stringify(older))
    assert.equal(err.message, 'peer answered: refused')
  }
  assert.ok(isTandemError(read({ t: 'error', code: 'PAIRING_BUSY', error: 'busy' }), 'PAIRING_BUSY'))
  // A code this version does not know (a newer peer's) is an INTERNAL error here, the peer's code kept.
  const newer = read({ t: 'error', code: 'SOME_NEW_CODE', error: 'new' })
  assert.ok(isTandemError(newer, 'INTERNAL'))
  assert.equal(newer.details.peerCode, 'SOME_NEW_CODE')
  // Data is no error.
  assert.equal(peerErrorMessage.safeParse({ ok: true, applied: 1 }).success, false)
  assert.equal(peerErrorMessage.safeParse({ blocks: [] }).success, false)
})
