import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatInvite, newInviteSecrets, parseInvite } from '../../main/net/pairing/invite.ts'
import { isTandemError } from '../../shared/errors.ts'
import type { DeviceID } from '../../shared/types.ts'

const PEER = '12D3KooWLtt46zernQBKzKBXSiw4ryJFn6G7Nq3Msc4P8zhYgk8R' as DeviceID

test('an invite round-trips through its URI', () => {
  const { id, code } = newInviteSecrets()
  const invite = { peer: PEER, addrs: ['/ip4/192.168.1.5/tcp/9171', '/ip4/11.0.0.1/tcp/9171/p2p/' + PEER + '/p2p-circuit'], id, code, name: 'Anna’s laptop & co' }
  const uri = formatInvite(invite)
  assert.match(uri, /^tandem:\/\/pair\?peer=12D3KooW/)
  assert.deepEqual(parseInvite(uri), invite)
  assert.deepEqual(parseInvite(`  ${uri}\n`), invite, 'pasted with spaces around')
})

test('malformed invites are refused, each with a reason', () => {
  const { id, code } = newInviteSecrets()
  const good = formatInvite({ peer: PEER, addrs: ['/ip4/127.0.0.1/tcp/1'], id, code, name: 'x' })
  const cases: Array<[unknown, RegExp]> = [
    ['', /empty/],
    [42, /empty/],
    ['hello', /not a URI/],
    ['https://pair?peer=x', /tandem:\/\/pair/],
    [good.replace('peer=', 'peer=zz'), /not a device ID/],
    [good.replace(/&?peer=[^&]*/, ''), /peer= is missing|\(peer=\) is missing/],
    [good.replace(/addr=[^&]*/, 'addr=not-an-addr'), /not a multiaddr/],
    [good.replace(/&?addr=[^&]*/, ''), /no address/],
    [good.replace(/code=[^&]*/, 'code=short'), /code/],
    [good.replace(/id=[^&]*/, 'id=!!'), /invite id/],
    [`${good}&x=${'a'.repeat(5000)}`, /too long/],
  ]
  for (const [uri, why] of cases) {
    assert.throws(() => parseInvite(uri), (err: unknown) => isTandemError(err, 'INVITE_MALFORMED') && why.test(err.message), String(uri).slice(0, 80))
  }
})
