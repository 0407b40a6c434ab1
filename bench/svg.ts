/**
 * Hand-written SVG bar charts for bench/compare.ts (no dependency: a chart is a few rects and texts).
 * One chart per workload: panels of horizontal bars, one bar per system, its value written beside it.
 * A bar that did not finish is drawn hatched, labelled with what it reached.
 */

export interface Bar { label: string; value: number | undefined; text: string; color: string; dnf?: boolean }
export interface Panel { title: string; bars: Bar[]; goal?: { value: number; text: string } }

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export const COLORS: Record<string, string> = {
  Tandem: '#2b7a4b', 'automerge-repo': '#c05a1f', OrbitDB: '#3b5bab', limit: '#8a8a8a',
}

export function chart(title: string, subtitle: string, panels: Panel[]): string {
  const W = 860
  const left = 190
  const right = 250
  const barH = 22
  const gap = 6
  let y = 58
  const body: string[] = []
  for (const p of panels) {
    body.push(`<text x="12" y="${y}" font-size="13" font-weight="bold">${esc(p.title)}</text>`)
    y += 10
    const max = Math.max(1e-9, ...p.bars.map((b) => b.value ?? 0), p.goal?.value ?? 0)
    const scale = (W - left - right) / max
    const top = y
    for (const b of p.bars) {
      const w = b.value === undefined ? 0 : Math.max(1, b.value * scale)
      body.push(`<text x="${left - 8}" y="${y + barH / 2 + 4}" font-size="12" text-anchor="end">${esc(b.label)}</text>`)
      if (b.value !== undefined) {
        body.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${b.dnf ? 'url(#hatch)' : b.color}" stroke="${b.color}"/>`)
      }
      body.push(`<text x="${left + w + 6}" y="${y + barH / 2 + 4}" font-size="12">${esc(b.text)}</text>`)
      y += barH + gap
    }
    if (p.goal !== undefined) {
      const x = left + p.goal.value * scale
      body.push(`<line x1="${x.toFixed(1)}" y1="${top - 4}" x2="${x.toFixed(1)}" y2="${y - gap + 4}" stroke="#d33" stroke-dasharray="4 3"/>`)
      body.push(`<text x="${x.toFixed(1)}" y="${y + 10}" font-size="11" fill="#d33" text-anchor="middle">${esc(p.goal.text)}</text>`)
      y += 14
    }
    y += 18
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="Helvetica, Arial, sans-serif">`,
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="3"/></pattern></defs>',
    `<rect width="${W}" height="${y}" fill="#fff"/>`,
    `<text x="12" y="22" font-size="16" font-weight="bold">${esc(title)}</text>`,
    `<text x="12" y="40" font-size="11" fill="#555">${esc(subtitle)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n')
}
