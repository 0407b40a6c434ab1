/** Reads a QR code from a picture (a screenshot or photo of another device's invite) or a camera frame. */

/** Large pictures are scaled down first: jsQR's time grows with pixels and a QR needs far fewer. */
const MAX_SIDE = 1600

/** Draws `source` (scaled to fit MAX_SIDE) on white and looks for a QR code in it. */
export async function decodeQr(source: CanvasImageSource, sourceWidth: number, sourceHeight: number): Promise<string | null> {
  const scale = Math.min(1, MAX_SIDE / Math.max(sourceWidth, sourceHeight))
  const width = Math.max(1, Math.round(sourceWidth * scale))
  const height = Math.max(1, Math.round(sourceHeight * scale))
  const canvas = new OffscreenCanvas(width, height)
  const ctx = canvas.getContext('2d', { willReadFrequently: true })
  if (ctx === null) return null
  // QR codes are dark on light; a transparent background would read as black.
  ctx.fillStyle = '#fff'
  ctx.fillRect(0, 0, width, height)
  ctx.drawImage(source, 0, 0, width, height)
  const pixels = ctx.getImageData(0, 0, width, height)
  // Loaded on first use: most windows never decode a QR code.
  const { default: jsQR } = await import('jsqr')
  return jsQR(pixels.data, width, height)?.data ?? null
}

export async function decodeQrFile(file: Blob): Promise<string | null> {
  // createImageBitmap needs no URL, so the CSP (img-src 'self' data:) stays as strict as it is.
  const bitmap = await createImageBitmap(file)
  try {
    return await decodeQr(bitmap, bitmap.width, bitmap.height)
  } finally {
    bitmap.close()
  }
}
