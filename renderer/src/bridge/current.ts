/** The bridge of this window, set once at start (main.tsx) and used by the store and the views. */
import type { Bridge } from './bridge.ts'

let current: Bridge | null = null

export function setBridge(bridge: Bridge): void {
  current = bridge
}

export function api(): Bridge {
  if (current === null) throw new Error('the window has no connection to a Tandem node')
  return current
}
