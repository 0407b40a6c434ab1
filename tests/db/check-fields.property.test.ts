/**
 * `checkFields` (db/validate.ts), the check a received block's fields get, is `validateFields`
 * without the copy: for any input it accepts exactly what `validateFields` accepts, and refuses the
 * rest with the very error `validateFields` gives (code and words), in both modes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { checkFields, validateFields, type ValidateMode } from '../../main/db/validate.ts'
import type { CollectionSchema, FieldSchema } from '../../shared/types.ts'

const seed = process.env.TANDEM_PROPERTY_SEED === undefined ? 20261205 : Number(process.env.TANDEM_PROPERTY_SEED)

const field = (name: string, type: FieldSchema['type'], more: Partial<FieldSchema> = {}): FieldSchema =>
  ({ name, type, list: false, required: false, itemRequired: false, ...more })

const schemas: CollectionSchema[] = [
  {
    name: 'Books',
    fields: [
      field('body', 'String'), field('pages', 'Int'), field('read', 'Boolean'),
      field('tags', 'String', { list: true }), field('title', 'String', { required: true }),
    ],
  },
  {
    name: 'Mixed',
    fields: [
      field('at', 'DateTime'), field('data', 'JSON'), field('ids', 'Int', { list: true, itemRequired: true }),
      field('must', 'Float', { required: true, default: 1.5 }), field('score', 'Float', { default: 0 }),
      field('when', 'DateTime', { required: true }), field('xs', 'Boolean', { list: true, required: true }),
    ],
  },
]

const names = ['title', 'body', 'pages', 'read', 'tags', 'at', 'data', 'ids', 'must', 'score', 'when', 'xs', 'nope', '_deleted', '0']
const scalar = fc.oneof(
  fc.string({ maxLength: 6 }), fc.constant('\uFEFFbom'), fc.constantFrom('2026-12-05', '2026-12-05T10:00:00Z', 'yesterday'),
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
)
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 3 }), scalar, { maxKeys: 2 }))
const input = fc.oneof(
  { weight: 8, arbitrary: fc.dictionary(fc.constantFrom(...names), value, { maxKeys: 6 }) },
  { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.array(scalar, { maxLength: 2 }), fc.string({ maxLength: 3 }), fc.integer()) },
)

/** What a check did: accepted, or its error's code and message. */
function outcome(run: () => unknown): string {
  try {
    run()
    return 'accepted'
  } catch (err) {
    const e = err as { code?: string; message: string }
    return `${e.code ?? 'no code'}: ${e.message}`
  }
}

test('checkFields accepts and refuses exactly as validateFields does, with the same error', () => {
  fc.assert(fc.property(fc.constantFrom(...schemas), input, fc.constantFrom<ValidateMode>('create', 'update'), (schema, doc, mode) => {
    assert.equal(outcome(() => checkFields(schema, doc, mode)), outcome(() => validateFields(schema, doc, mode)))
  }), { seed, numRuns: 3000 })
})

test('checkFields: the cases each branch handles', () => {
  const books = schemas[0]!
  const mixed = schemas[1]!
  assert.equal(outcome(() => checkFields(books, { title: 'T', tags: ['a', 'b'] }, 'create')), 'accepted')
  assert.match(outcome(() => checkFields(books, { pages: 3 }, 'create')), /^MISSING_REQUIRED: Books needs a value for "title"/)
  assert.match(outcome(() => checkFields(books, { title: 'T', nope: 1 }, 'create')), /^UNKNOWN_FIELD: /)
  assert.match(outcome(() => checkFields(books, { title: 'T', tags: ['a', 2] }, 'create')), /^WRONG_TYPE: Books.tags /)
  assert.match(outcome(() => checkFields(books, {}, 'update')), /^INVALID_INPUT: Nothing to update/)
  assert.equal(outcome(() => checkFields(books, { pages: 3 }, 'update')), 'accepted')
  // A required field with a default needs no value; one without does.
  assert.equal(outcome(() => checkFields(mixed, { when: '2026-12-05', xs: [true] }, 'create')), 'accepted')
  assert.match(outcome(() => checkFields(mixed, { when: '2026-12-05' }, 'create')), /^MISSING_REQUIRED: Mixed needs a value for "xs"/)
  assert.match(outcome(() => checkFields(mixed, { when: '2026-12-05', xs: [true], ids: [1, null] }, 'create')), /^WRONG_TYPE: Mixed.ids cannot hold empty/)
})
