import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { join } from 'node:path'
import { KEY_FILE, loadOrCreateIdentity, verifySignature } from '../../main/db/identity.ts'
import { isTandemError } from '../../shared/errors.ts'
import { tempDir } from '../helpers/tmp.ts'

test('the device key is created on first start with mode 0600 and reused after', async (t) => {
  const dir = await tempDir(t)
  const first = await loadOrCreateIdentity(dir)
  const st = await stat(join(dir, KEY_FILE))
  assert.equal(st.mode & 0o777, 0o600)
  const again = await loadOrCreateIdentity(dir)
  assert.equal(again.deviceID, first.deviceID)
  assert.match(first.deviceID, /^12D3KooW/, 'an Ed25519 libp2p peer ID')
  assert.equal(first.peerId.toString(), first.deviceID)
})

test('a key file readable by others is tightened to 0600', async (t) => {
  const dir = await tempDir(t)
  await loadOrCreateIdentity(dir)
  await chmod(join(dir, KEY_FILE), 0o644)
  await loadOrCreateIdentity(dir)
  assert.equal((await stat(join(dir, KEY_FILE))).mode & 0o777, 0o600)
})

test('signatures verify for their device only and only for the signed bytes', async (t) => {
  const a = await loadOrCreateIdentity(await tempDir(t))
  const b = await loadOrCreateIdentity(await tempDir(t))
  const msg = new TextEncoder().encode('hello')
  const sig = await a.sign(msg)
  assert.equal(await verifySignature(a.deviceID, msg, sig), true)
  assert.equal(await verifySignature(b.deviceID, msg, sig), false)
  assert.equal(await verifySignature(a.deviceID, new TextEncoder().encode('hellO'), sig), false)
})

test('a corrupt key file is a clear error, not a new identity', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, KEY_FILE), 'not a key')
  await assert.rejects(loadOrCreateIdentity(dir), (err) => isTandemError(err, 'DATA_DIR_INVALID') && /device key/.test(err.message))
})

test('the key libp2p signs with gives the same signatures as the key file, for bytes and byte lists alike', async (t) => {
  const dir = await tempDir(t)
  const id = await loadOrCreateIdentity(dir)
  const original = privateKeyFromProtobuf(await readFile(join(dir, KEY_FILE)))
  const msg = new TextEncoder().encode('a gossip message')
  const sig = await id.privateKey.sign(msg)
  assert.deepEqual(sig, await original.sign(msg), 'Ed25519 is deterministic: the same key signs the same bytes alike')
  const list = { subarray: () => msg } // what a Uint8ArrayList gives libp2p's signers
  assert.deepEqual(await id.privateKey.sign(list as unknown as Uint8Array), sig)
  assert.ok(await original.publicKey.verify(msg, sig))
  assert.ok(id.privateKey.equals(original) && id.privateKey.publicKey.equals(original.publicKey))
  assert.equal(id.privateKey.type, 'Ed25519')
})
