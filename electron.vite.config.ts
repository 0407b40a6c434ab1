/**
 * Build of the three Electron processes into out/main, out/preload and out/renderer, with our own
 * layout (main/electron, preload, renderer) instead of electron-vite's src/ defaults.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'electron-vite'
import react from '@vitejs/plugin-react'
import type { Plugin } from 'vite'

const fromRoot = (path: string): string => fileURLToPath(new URL(path, import.meta.url))
const pkg = JSON.parse(readFileSync(fromRoot('./package.json'), 'utf8')) as { version: string }

/**
 * `electron-vite dev` only: the dev server injects an inline React Refresh preamble and inline
 * <style> tags, which the production CSP rightly blocks. Relax exactly those two directives while
 * serving; `build` never runs this plugin, and tests/build checks the built CSP is the strict one.
 */
function devInlineCsp(): Plugin {
  return {
    name: 'tandem:dev-inline-csp',
    apply: 'serve',
    transformIndexHtml: (html) => html
      .replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
      .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
  }
}

export default defineConfig({
  main: {
    build: {
      // Runtime dependencies (package.json "dependencies": classic-level is a native addon, the
      // libp2p stack is large) stay in node_modules and are loaded at run time, not bundled.
      externalizeDeps: true,
      rollupOptions: {
        input: { index: fromRoot('./main/electron/index.ts') },
        // ESM, which Electron 45's main process supports ("type": "module"): out/main/index.js,
        // as package.json "main" says.
        output: { format: 'es', entryFileNames: '[name].js' },
      },
    },
  },
  preload: {
    define: { __TANDEM_VERSION__: JSON.stringify(pkg.version) },
    build: {
      // A sandboxed preload can require only `electron` and a few polyfilled modules, so
      // everything else it uses must be bundled in.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: fromRoot('./preload/index.ts') },
        // Sandboxed preloads cannot be ES modules; `.cjs` keeps it CommonJS even for code that
        // reads it with Node's rules under "type": "module".
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: fromRoot('./renderer'),
    plugins: [react(), devInlineCsp()],
    // The CSP allows the HMR websocket on ws://127.0.0.1:* only.
    server: { host: '127.0.0.1' },
    build: {
      // electron-vite leaves output unminified; the same bundle is also served to browsers by --ui.
      minify: true,
      rollupOptions: {
        input: { index: fromRoot('./renderer/index.html') },
      },
    },
  },
})
