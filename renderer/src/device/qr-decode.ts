/** Reads a QR code from an image file (a screenshot or photo of another device's invite). */
/** Large photos are scaled down first: jsQR's time grows with pixels and a QR needs far fewer. */
const MAX_SIDE = 1600

export async function decodeQrFile(file: Blob): Promise<string | null> {
  // createImageBitmap needs no URL, so the CSP (img-src 'self' data:) stays as strict as it is.
  const bitmap = await createImageBitmap(file)
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height))
  const width = Math.max(1, Math.round(bitmap.width * scale))
  const height = Math.max(1, Math.round(bitmap.height * scale))
  const canvas = new OffscreenCanvas(width, height)
  const ctx = canvas.getContext('2d')
  if (ctx === null) return null
  // QR codes are dark on light; a transparent background would read as black.
  ctx.fillStyle = '#fff'
  ctx.fillRect(0, 0, width, height)
  ctx.drawImage(bitmap, 0, 0, width, height)
  bitmap.close()
  const pixels = ctx.getImageData(0, 0, width, height)
  // Loaded on first use: most windows never decode a QR picture.
  const { default: jsQR } = await import('jsqr')
  return jsQR(pixels.data, width, height)?.data ?? null
}
