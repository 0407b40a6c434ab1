import { test } from 'node:test'
import assert from 'node:assert/strict'
import { collectionIDOf, parseSDL, toSDL } from '../../main/db/schema.ts'
import { TandemError } from '../../shared/errors.ts'

const BOOKS = 'type Books { title: String! pages: Int tags: [String] read: Boolean }'

test('parses the scalars, lists and required marks of a collection', () => {
  const [books] = parseSDL('type Books { title: String! rating: Float tags: [String!]! at: DateTime meta: JSON read: Boolean n: Int }')
  assert.equal(books!.name, 'Books')
  assert.deepEqual(books!.fields.map((f) => f.name), ['at', 'meta', 'n', 'rating', 'read', 'tags', 'title'])
  const tags = books!.fields.find((f) => f.name === 'tags')!
  assert.deepEqual(tags, { name: 'tags', type: 'String', list: true, required: true, itemRequired: true })
  const title = books!.fields.find((f) => f.name === 'title')!
  assert.deepEqual(title, { name: 'title', type: 'String', list: false, required: true, itemRequired: false })
})

test('several types in one SDL string define several collections', () => {
  const schemas = parseSDL(`${BOOKS}\ntype Authors { name: String! }`)
  assert.deepEqual(schemas.map((s) => s.name), ['Books', 'Authors'])
})

test('the same schema gives the same collection ID, whatever the field order or spacing', () => {
  const a = collectionIDOf(parseSDL(BOOKS)[0]!)
  const b = collectionIDOf(parseSDL('type Books {\n  read: Boolean\n  tags: [String]\n  pages: Int\n  title: String!\n}')[0]!)
  assert.equal(a, b)
  assert.match(a, /^bafyrei/)
  const c = collectionIDOf(parseSDL('type Books { title: String pages: Int tags: [String] read: Boolean }')[0]!)
  assert.notEqual(a, c, 'a different required mark is a different schema')
  const d = collectionIDOf(parseSDL('type Novels { title: String! pages: Int tags: [String] read: Boolean }')[0]!)
  assert.notEqual(a, d, 'the name is part of the identity')
})

test('toSDL gives back a schema that parses to the same collection', () => {
  const s = parseSDL(BOOKS)[0]!
  assert.equal(collectionIDOf(parseSDL(toSDL(s))[0]!), collectionIDOf(s))
})

function rejects(sdl: string, code: string, message: RegExp): void {
  assert.throws(() => parseSDL(sdl), (err: unknown) => {
    assert.ok(err instanceof TandemError, 'a TandemError')
    assert.equal(err.code, code)
    assert.match(err.message, message)
    return true
  })
}

test('bad SDL is refused with a message that says what and where', () => {
  rejects('type Books { title: String! ', 'SCHEMA_INVALID', /line 1, column \d+/)
  rejects('', 'SCHEMA_INVALID', /empty/)
  rejects('   ', 'SCHEMA_INVALID', /empty/)
  rejects('enum Color { RED }', 'SCHEMA_INVALID', /Only object types.*enum type definition/)
  rejects('type Books { }', 'SCHEMA_INVALID', /not valid GraphQL|no fields/)
})

test('an unknown scalar names the field and the allowed types', () => {
  rejects('type Books { title: Text }', 'UNKNOWN_SCALAR', /Books\.title.*"Text".*String, Int, Float, Boolean, DateTime, JSON/)
  rejects('type Books { author: Authors }', 'UNKNOWN_SCALAR', /"Authors"/)
})

test('duplicate collections and fields, reserved names, lists of lists are refused', () => {
  rejects(`${BOOKS} ${BOOKS}`, 'DUPLICATE_COLLECTION', /"Books" twice/)
  rejects('type Books { a: Int a: String }', 'SCHEMA_INVALID', /field "a" twice/)
  rejects('type Books { _id: Int }', 'SCHEMA_INVALID', /reserves/)
  rejects('type _Books { a: Int }', 'SCHEMA_INVALID', /reserves/)
  rejects('type Books { m: [[Int]] }', 'SCHEMA_INVALID', /lists of lists/)
  rejects('type Books { a(x: Int): Int }', 'SCHEMA_INVALID', /arguments/)
})
