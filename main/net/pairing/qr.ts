/**
 * An invite (or a plain multiaddr) as a QR code: text for a terminal, SVG for the window, PNG bytes
 * for anything else. The input is checked first: a QR code of something that is not an invite
 * would only fail later, on the other device.
 */
import QRCode from 'qrcode'
import { TandemError } from '../../../shared/errors.ts'
import { checkMultiaddr } from '../host.ts'
import { parseInvite } from './invite.ts'

function checked(uri: unknown): string {
  if (typeof uri === 'string' && uri.trim().startsWith('/')) return checkMultiaddr(uri.trim())
  parseInvite(uri) // throws INVITE_MALFORMED with the reason
  return (uri as string).trim()
}

async function render<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw new TandemError('INVALID_INPUT', `This does not fit in a QR code: ${(err as Error).message}`)
  }
}

/** Text of block characters, two rows of modules per line: prints in a terminal as a scannable code. */
export async function qrTerminal(uri: string): Promise<string> {
  const text = checked(uri)
  return await render(() => QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'L' }))
}

/** An SVG document (black modules on white, a quiet zone of 2). */
export async function qrSvg(uri: string): Promise<string> {
  const text = checked(uri)
  return await render(() => QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }))
}

/** PNG bytes, `scale` pixels per module. */
export async function qrPng(uri: string, scale = 4): Promise<Buffer> {
  const text = checked(uri)
  return await render(() => QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 2, scale }))
}
