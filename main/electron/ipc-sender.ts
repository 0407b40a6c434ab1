/**
 * Who may use the IPC API: pure, so plain Node tests can check it (no `electron` import). A message
 * counts only from the main frame (never an iframe) of a window we own, showing our own page.
 */
import { isAllowedNavigation } from './app-url.ts'

export interface SenderFacts {
  /** The frame that sent it (null once the frame is gone). */
  frame: { url: string } | null
  /** The main frame of the web contents that sent it. */
  mainFrame: unknown
  /** Whether those web contents belong to one of our windows. */
  ownWindow: boolean
}

export function senderAllowed(facts: SenderFacts, devOrigin: string | null): boolean {
  if (facts.frame === null || facts.frame !== facts.mainFrame || !facts.ownWindow) return false
  return isAllowedNavigation(facts.frame.url, devOrigin)
}
