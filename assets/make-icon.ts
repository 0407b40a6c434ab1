/**
 * Draws the app icon (assets/icon.png, 1024×1024): two linked rings — two devices in tandem — on a
 * rounded blue square. Run `node assets/make-icon.ts` after changing it; electron-builder derives the
 * .ico/.icns from the PNG. assets/icon.svg is the same picture for the web.
 */
import { writeFileSync } from 'node:fs'
import { PNG } from 'pngjs'

const S = 1024
const png = new PNG({ width: S, height: S })
const bg = [43, 108, 176]
const rings = [{ x: 410, y: 512 }, { x: 614, y: 512 }]
const R = 230
const W = 70

function inRoundedSquare(x: number, y: number): boolean {
  const r = 200
  const cx = Math.min(Math.max(x, r), S - r)
  const cy = Math.min(Math.max(y, r), S - r)
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
}

for (let y = 0; y < S; y++) {
  for (let x = 0; x < S; x++) {
    const i = (y * S + x) * 4
    // 4×4 supersampling for smooth edges.
    let cover = 0
    let ring = 0
    for (let sy = 0; sy < 4; sy++) {
      for (let sx = 0; sx < 4; sx++) {
        const px = x + (sx + 0.5) / 4
        const py = y + (sy + 0.5) / 4
        if (!inRoundedSquare(px, py)) continue
        cover++
        if (rings.some((c) => Math.abs(Math.hypot(px - c.x, py - c.y) - R) <= W / 2)) ring++
      }
    }
    const a = cover / 16
    const t = cover === 0 ? 0 : ring / cover
    png.data[i] = Math.round(bg[0]! * (1 - t) + 255 * t)
    png.data[i + 1] = Math.round(bg[1]! * (1 - t) + 255 * t)
    png.data[i + 2] = Math.round(bg[2]! * (1 - t) + 255 * t)
    png.data[i + 3] = Math.round(255 * a)
  }
}
writeFileSync(new URL('./icon.png', import.meta.url), PNG.sync.write(png))
