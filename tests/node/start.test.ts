import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Database } from '../../main/db/database.ts'
import { tempDir } from '../helpers/tmp.ts'

const START = fileURLToPath(new URL('../../main/start.ts', import.meta.url))

function run(args: string[]): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [START, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { err += d })
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)))
  return { child, out: () => out, err: () => err, exit }
}

async function until(check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('npm start runs a headless node that prints its device ID and addresses and stops cleanly on SIGTERM', async (t) => {
  const dir = await tempDir(t)
  const seed = await Database.open(dir)
  await seed.addCollections('type Books { title: String! }')
  await seed.createDocument('Books', { title: 'Dune' })
  const device = seed.deviceID
  await seed.close()

  const node = run(['--data-dir', dir, '--p2paddr', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--api-addr', '127.0.0.1:0'])
  // A failed assertion must not leave the node running: it would hold the test runner open.
  t.after(() => { if (node.child.exitCode === null) node.child.kill('SIGKILL') })
  await until(() => node.out().includes('Press Ctrl+C'))
  assert.match(node.out(), new RegExp(`listening on:\\s+/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${device}`))
  assert.match(node.out(), new RegExp(`peer ID: +${device}`))
  assert.match(node.out(), /collections: +Books \(1\)/)

  const second = run(['--data-dir', dir, '--no-p2p', '--api-addr', '127.0.0.1:0'])
  assert.equal(await second.exit, 1, 'a second node on the same data dir exits 1')
  assert.match(second.err(), /in use by another running Tandem node/)

  node.child.kill('SIGTERM')
  assert.equal(await node.exit, 0)
  assert.match(node.out(), /stopped cleanly/)
  const reopened = await Database.open(dir)
  assert.equal((await reopened.listDocuments('Books')).total, 1)
  await reopened.close()
})

test('a bad flag prints the usage and exits 2', async () => {
  const node = run(['--dta-dir', '/tmp/x'])
  assert.equal(await node.exit, 2)
  assert.match(node.err(), /unknown option '--dta-dir'/)
})
