/** Every error path of `tandem client` and `tandem start`: message and code on stderr, nothing on stdout, exit 1 (2 for usage). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { tempDir } from '../helpers/tmp.ts'
import { apiFile, client, clientFails, startDaemon, tandem } from './cli.ts'

test('client errors: bad JSON, unknown collection/docID, schema violations, bad multiaddr, wrong token, no node', { timeout: 120_000 }, async (t) => {
  const root = await tempDir(t)
  const dir = join(root, 'a')
  const a = await startDaemon(t, dir)
  await client(dir, 'collection', 'add', 'type Books { title: String! pages: Int }')
  const { docID } = await client(dir, 'doc', 'create', 'Books', '{"title": "Dune"}')
  const { address } = apiFile(dir)

  const checks: Array<Promise<string>> = [
    clientFails(dir, 'INVALID_INPUT', 'doc', 'create', 'Books', '{"title": '),
    clientFails(dir, 'INVALID_INPUT', 'doc', 'update', 'Books', docID, 'not json'),
    clientFails(dir, 'INVALID_INPUT', 'doc', 'list', 'Books', '--filter', '{oops'),
    clientFails(dir, 'UNKNOWN_COLLECTION', 'doc', 'create', 'Nope', '{"title": "x"}'),
    clientFails(dir, 'UNKNOWN_COLLECTION', 'collection', 'describe', 'Nope'),
    clientFails(dir, 'NOT_FOUND', 'doc', 'get', 'Books', 'bae-bafyreihlofixwi4nh4rq4k2bibb6lu4ekkozfrrn5p5zfoz63uv3mvdsjq'),
    clientFails(dir, 'NOT_FOUND', 'doc', 'delete', 'Books', 'bae-nothing'),
    clientFails(dir, 'WRONG_TYPE', 'doc', 'create', 'Books', '{"title": "x", "pages": "many"}'),
    clientFails(dir, 'MISSING_REQUIRED', 'doc', 'create', 'Books', '{"pages": 3}'),
    clientFails(dir, 'UNKNOWN_FIELD', 'doc', 'update', 'Books', docID, '{"author": "Herbert"}'),
    clientFails(dir, 'SCHEMA_INVALID', 'collection', 'add', 'type {'),
    clientFails(dir, 'INVALID_INPUT', 'p2p', 'replicator', 'set', '-c', 'Books', '/not/a/multiaddr'),
    clientFails(dir, 'INVALID_INPUT', 'p2p', 'replicator', 'set', '-c', 'Books', '/ip4/127.0.0.1/tcp/1'),
    clientFails(dir, 'INVALID_INPUT', 'rpc', 'addreplicator', 'Books', 'garbage'),
    clientFails(dir, 'INVITE_MALFORMED', 'pair', 'join', 'https://example.invalid/not-an-invite'),
    clientFails(dir, 'INVALID_INPUT', 'device', 'remove', 'not-a-peer-id!'),
    clientFails(dir, 'INVALID_INPUT', 'doc', 'list', 'Books', '--limit', 'ten'),
  ]
  for (const stderr of await Promise.all(checks)) assert.doesNotMatch(stderr, /at .*\.ts:\d+/, 'no stack traces for people')

  // A bulk create with one bad document writes none of them.
  await clientFails(dir, 'WRONG_TYPE', 'doc', 'create', 'Books', '[{"title": "ok"}, {"title": 5}]')
  assert.equal((await client(dir, 'doc', 'list', 'Books')).total, 1)

  // Wrong token, and --api without --token.
  const wrong = await tandem(['client', '--api', address, '--token', 'not-the-token', 'p2p', 'info'])
  assert.equal(wrong.code, 1)
  assert.match(wrong.stderr, /\[UNAUTHORIZED\]/)
  const half = await tandem(['client', '--api', address, 'p2p', 'info'])
  assert.equal(half.code, 1)
  const right = await tandem(['client', '--api', address, '--token', apiFile(dir).token, 'p2p', 'info'])
  assert.equal(right.code, 0)

  // Usage errors exit 2; --help on a command exits 0.
  const help = await tandem(['client', 'doc', 'list', '--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /--filter/)
  assert.equal((await tandem(['client', 'doc', 'frobnicate'])).code, 2)
  assert.equal((await tandem(['start', '--api-addr', '192.0.2.1:9181'])).code, 2, 'the API is loopback only')

  // A second node on the same data dir: clear error, exit 1; the first keeps its api.json.
  const second = await tandem(['start', '--data-dir', dir, '--no-p2p', '--api-addr', '127.0.0.1:0'])
  assert.equal(second.code, 1)
  assert.match(second.stderr, /in use by another running Tandem node/)
  assert.equal((await client(dir, 'p2p', 'info')).network, 'online')

  assert.equal(await a.stop(), 0)
  // No running node: by data dir (no api.json), and by address.
  await clientFails(dir, 'UNREACHABLE', 'collection', 'list')
  await clientFails(join(root, 'never-started'), 'UNREACHABLE', 'collection', 'list')
  const gone = await tandem(['client', '--api', address, '--token', 'x', 'collection', 'list'])
  assert.equal(gone.code, 1)
  assert.match(gone.stderr, /\[UNREACHABLE\]/)
})
