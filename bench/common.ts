/**
 * Pieces shared by the benchmarks (bench/run.ts, bench/sync.ts): the ~200-byte test documents,
 * medians, bounded waits, number formatting, the plain-text table and a full GC before each timed part.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export const BOOKS = 'type Books { title: String! pages: Int tags: [String] read: Boolean body: String }'

// ---- data ----

export interface Doc { title: string; pages: number; tags: string[]; body: string }

const WORDS = ['harbor', 'lantern', 'quartz', 'meadow', 'ember', 'tide', 'willow', 'cobalt', 'fjord', 'saffron', 'granite', 'orchid', 'thistle', 'cedar']
export const word = (): string => WORDS[Math.floor(Math.random() * WORDS.length)]!

/** A ~200-byte document (its JSON is 180–220 bytes, 200 on average). */
export function makeDoc(i: number): Doc {
  const doc: Doc = { title: `${word()} ${word()} ${i}`, pages: 1 + Math.floor(Math.random() * 1200), tags: [word(), word()], body: '' }
  const target = 180 + Math.floor(Math.random() * 41)
  let body = ''
  const room = target - Buffer.byteLength(JSON.stringify(doc))
  while (body.length < room) body += `${word()} `
  body = body.slice(0, Math.max(0, room))
  doc.body = body.endsWith(' ') ? `${body.slice(0, -1)}.` : body
  return doc
}

// ---- measurement ----

// A full GC before each timed part, so garbage from the previous one is not collected on its clock.
setFlagsFromString('--expose-gc')
export const gc = runInNewContext('gc') as () => void

/** Rejects with a clear message when `p` has not settled within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${fmt(ms / 1000, 1)} s waiting for ${what}`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

// ---- output ----

export const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
export const mb = (x: number): string => fmt(x, x < 10 ? 2 : 1)

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  const line = (r: string[]): string => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')
}
