/**
 * Invites: `tandem://pair?peer=<peerID>&addr=<multiaddr>…&id=<invite id>&code=<secret>&name=<device>`.
 * The code is a one-time secret (128 bits, base32); the id names the invite so that an expired or
 * used one can be told from a wrong code. Shown as text and as a QR code.
 */
import { randomBytes } from 'node:crypto'
import { base32 } from 'multiformats/bases/base32'
import { multiaddr } from '@multiformats/multiaddr'
import { TandemError } from '../../../shared/errors.ts'
import type { DeviceID } from '../../../shared/types.ts'
import { checkDeviceID } from '../group.ts'

export const SCHEME = 'tandem:'
const MAX_URI = 4096 // a few addresses and a name; anything longer is not ours
const MAX_ADDRS = 16

export interface Invite {
  peer: DeviceID
  addrs: string[]
  id: string
  code: string
  name: string
}

export function newInviteSecrets(): { id: string; code: string } {
  // base32 without the multibase prefix: letters and digits only, easy to read aloud and to type.
  return { id: base32.encode(randomBytes(8)).slice(1), code: base32.encode(randomBytes(16)).slice(1) }
}

export function formatInvite(invite: Invite): string {
  const q = new URLSearchParams()
  q.set('peer', invite.peer)
  for (const a of invite.addrs) q.append('addr', a)
  q.set('id', invite.id)
  q.set('code', invite.code)
  q.set('name', invite.name)
  return `tandem://pair?${q.toString()}`
}

export function parseInvite(uri: unknown): Invite {
  const bad = (why: string): TandemError => new TandemError('INVITE_MALFORMED', `This is not a Tandem invite: ${why}.`)
  if (typeof uri !== 'string' || uri.trim() === '') throw bad('it is empty')
  if (uri.length > MAX_URI) throw bad('it is too long')
  let url: URL
  try {
    url = new URL(uri.trim())
  } catch {
    throw bad('it is not a URI (an invite starts with tandem://pair?)')
  }
  if (url.protocol !== SCHEME || url.hostname !== 'pair') throw bad('it does not start with tandem://pair?')
  const q = url.searchParams
  const peer = q.get('peer')
  if (peer === null) throw bad('the device (peer=) is missing')
  let deviceID: DeviceID
  try {
    deviceID = checkDeviceID(peer)
  } catch {
    throw bad('the device (peer=) is not a device ID')
  }
  const addrs = q.getAll('addr').slice(0, MAX_ADDRS).map((a) => {
    try {
      return multiaddr(a).toString()
    } catch {
      throw bad(`"${a.slice(0, 60)}" is not a multiaddr`)
    }
  })
  if (addrs.length === 0) throw bad('it holds no address to reach the device (addr=)')
  const id = q.get('id') ?? ''
  const code = q.get('code') ?? ''
  if (!/^[a-z2-7]{8,32}$/.test(id)) throw bad('the invite id (id=) is missing or malformed')
  if (!/^[a-z2-7]{20,64}$/.test(code)) throw bad('the code (code=) is missing or malformed')
  const name = (q.get('name') ?? '').slice(0, 64)
  return { peer: deviceID, addrs, id, code, name }
}
