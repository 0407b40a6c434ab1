import { test } from 'node:test'
import assert from 'node:assert/strict'
import jsQRModule from 'jsqr'
import { PNG } from 'pngjs'
import { qrPng, qrSvg, qrTerminal } from '../../main/net/pairing/qr.ts'
import { formatInvite } from '../../main/net/pairing/invite.ts'
import type { DeviceID } from '../../shared/types.ts'
import { isTandemError } from '../../shared/errors.ts'

const URI = formatInvite({
  peer: '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK' as DeviceID,
  addrs: ['/ip4/192.168.1.20/tcp/9171', '/ip4/11.0.0.5/tcp/9171/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/p2p-circuit'],
  id: 'abcdefgh2345', code: 'abcdefghijklmnopqrstuvwxyz', name: 'Anna’s laptop',
})

// jsqr is CommonJS whose types declare an ES default export: take whichever is the function.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as
  (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null

function decode(rgba: Uint8ClampedArray, width: number, height: number): string | undefined {
  return jsQR(rgba, width, height)?.data
}

test('a PNG QR code decodes back to the same invite URI', async () => {
  const png = PNG.sync.read(await qrPng(URI))
  assert.equal(decode(new Uint8ClampedArray(png.data), png.width, png.height), URI)
})

test('the SVG QR code, rasterized, decodes back to the same invite URI', async () => {
  const svg = await qrSvg(URI)
  assert.match(svg, /^<svg [^>]*viewBox="0 0 (\d+) \1"/)
  const size = Number(/viewBox="0 0 (\d+)/.exec(svg)![1])
  const scale = 4
  const w = size * scale
  const rgba = new Uint8ClampedArray(w * w * 4).fill(255)
  // qrcode draws dark modules as one path of horizontal 1-unit strokes: M/m moves, h draws.
  const d = /<path[^>]*stroke="#000000"[^>]*d="([^"]+)"/.exec(svg)![1]!
  let x = 0
  let y = 0
  for (const [, op, args] of d.matchAll(/([Mmh])([^Mmh]+)/g)) {
    const n = args!.trim().split(/[ ,]+/).map(Number)
    if (op === 'M') { x = n[0]!; y = n[1]! } else if (op === 'm') { x += n[0]!; y += n[1]! } else {
      const row = Math.floor(y)
      for (let col = x; col < x + n[0]!; col++) {
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) {
          const i = ((row * scale + dy) * w + col * scale + dx) * 4
          rgba[i] = rgba[i + 1] = rgba[i + 2] = 0
        }
      }
      x += n[0]!
    }
  }
  assert.equal(decode(rgba, w, w), URI)
})

test('terminal rendering uses block characters, one line per two module rows', async () => {
  const text = await qrTerminal(URI)
  const lines = text.trimEnd().split('\n')
  assert.ok(lines.length > 20 && lines.length < 80, `${lines.length} lines`)
  assert.match(text, /[▀▄█]/)
})

test('only invites and multiaddrs are rendered; anything else is a typed error', async () => {
  assert.match(await qrSvg('/ip4/127.0.0.1/tcp/9171'), /<svg/)
  await assert.rejects(qrSvg('https://example.invalid/'), (e) => isTandemError(e, 'INVITE_MALFORMED'))
  await assert.rejects(qrPng(''), (e) => isTandemError(e, 'INVITE_MALFORMED'))
  await assert.rejects(qrTerminal('/ip4/nope'), (e) => isTandemError(e, 'INVALID_INPUT'))
  await assert.rejects(qrSvg(42 as unknown as string), (e) => isTandemError(e, 'INVITE_MALFORMED'))
})
