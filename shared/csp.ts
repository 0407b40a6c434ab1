/**
 * The window's Content-Security-Policy, written once. The page carries PAGE_CSP in its <meta>
 * (renderer/index.html; tests keep the two equal); whoever serves the page also sends a policy as a
 * header, because only a header can carry `frame-ancestors` (no other origin may frame the window).
 * Where both apply, a browser enforces both, so a header can only narrow the meta.
 */

/** In the page: data: images for the invite QR; the loopback WebSocket of the browser transport. */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self' ws://127.0.0.1:*; font-src 'self'; base-uri 'none'; form-action 'none'"

/** Sent with the page by `tandem start --ui`: the page's policy, and nobody may frame it. */
export const UI_HEADER_CSP = `${PAGE_CSP}; frame-ancestors 'none'`

/**
 * Sent by the Electron shell's app:// handler: the page's policy without the WebSocket (the window
 * talks to the node over IPC only), and nobody may frame it. With the meta also in force, a page
 * in Electron can open no socket at all.
 */
export const ELECTRON_HEADER_CSP = PAGE_CSP.replace("connect-src 'self' ws://127.0.0.1:*", "connect-src 'self'") + "; frame-ancestors 'none'"
