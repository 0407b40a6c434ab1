/**
 * Keeps the store live: each contract event refreshes what it touches (coalesced, so a bulk sync of
 * thousands of documents costs a few reloads), and a slow poll refreshes what has no event of its
 * own (pending outgoing changes, last seen).
 */
import type { ApiEvents, EventName, NodeStatus } from '../../../shared/api/index.ts'
import type { Bridge } from '../bridge/bridge.ts'
import { bumpDocs, loaders, readStatus, takeStatus, useTandem } from './store.ts'

/** Coalescing window: events inside it cause one reload. */
const COALESCE_MS = 150
const POLL_MS = 2_000

export function startLive(bridge: Bridge): () => void {
  const timers = new Map<string, ReturnType<typeof setTimeout>>()
  const soon = (key: string, run: () => void): void => {
    if (timers.has(key)) return
    timers.set(key, setTimeout(() => {
      timers.delete(key)
      run()
    }, COALESCE_MS))
  }
  const collectionName = (id: string): string | undefined => useTandem.getState().collections.find((c) => c.id === id)?.name

  const off = bridge.subscribe((event: EventName, data: unknown) => {
    switch (event) {
      case 'node:status':
        void takeStatus(data as NodeStatus)
        break
      case 'document': {
        const d = data as ApiEvents['document']
        soon('collections', () => {
          void loaders.collections()
        })
        soon(`docs:${d.collection}`, () => {
          const name = collectionName(d.collection)
          if (name !== undefined) bumpDocs(name)
          else void loaders.collections().then(() => { const n = collectionName(d.collection); if (n !== undefined) bumpDocs(n) })
        })
        soon('node', () => void loaders.node())
        break
      }
      case 'collection': {
        // A new schema version changes what documents read (new fields, defaults): reload its table too.
        const c = data as ApiEvents['collection']
        soon('collections', () => void loaders.collections())
        soon(`docs:${c.id}`, () => bumpDocs(c.name))
        break
      }
      case 'schema:conflict':
        soon('collections', () => void loaders.collections())
        break
      case 'peer:connect': case 'peer:disconnect': case 'device':
        soon('devices', () => { void loaders.devices(); void loaders.peers(); void loaders.node(); void loaders.replicators() })
        break
      case 'node':
        useTandem.setState({ node: data as ApiEvents['node'] })
        break
      case 'replicator': {
        const r = data as ApiEvents['replicator']
        useTandem.setState((s) => ({
          replicators: s.replicators.some((x) => x.target === r.target)
            ? s.replicators.map((x) => (x.target === r.target ? r : x))
            : [...s.replicators, r],
        }))
        soon('node', () => void loaders.node())
        break
      }
      case 'nearby':
        useTandem.setState({ nearby: data as ApiEvents['nearby'] })
        break
      case 'pairing:request': case 'pairing:resolved': case 'pairing:changed':
        soon('requests', () => void loaders.requests())
        break
      case 'pairing:mode':
        useTandem.setState({ pairingMode: data as ApiEvents['pairing:mode'] })
        break
      case 'sync':
        soon('node', () => void loaders.node())
        break
      case 'sync:error':
        break
    }
  })
  const offLink = bridge.onLink((link) => {
    // After a reconnect the events in between are lost, and the node may have restarted (and be
    // upgrading): ask how it is, then read everything again once it is ready.
    useTandem.setState({ link })
    if (link === 'up') void readStatus(true)
  })
  const poll = setInterval(() => {
    const { link, status } = useTandem.getState()
    if (link !== 'up') return
    // Until ready, only the status answers (the node:status event normally brings it first).
    if (status?.state !== 'ready') return void readStatus()
    void loaders.node()
    void loaders.devices()
  }, POLL_MS)
  return () => {
    off()
    offLink()
    clearInterval(poll)
    for (const t of timers.values()) clearTimeout(t)
  }
}
