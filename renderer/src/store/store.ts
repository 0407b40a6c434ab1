/**
 * The window's state (zustand): what the node last told us, refreshed on the contract's events.
 * Views read slices of it; loaders here are the only place that calls list/info calls.
 */
import { create } from 'zustand'
import type {
  DeviceInfo, NearbyDevice, NodeInfo, NodeStatus, PairingMode, PairingRequest, PeerInfo, ReplicatorInfo,
} from '../../../shared/api/index.ts'
import type { CollectionInfo } from '../../../shared/types.ts'
import type { LinkState } from '../bridge/bridge.ts'
import { api } from '../bridge/current.ts'
import { hashOf, routeFromHash, type Route } from './route.ts'

export interface TandemState {
  link: LinkState
  /** Whether the node is starting, upgrading (how far) or ready; null until it first answers. The app shows once ready. */
  status: NodeStatus | null
  route: Route
  node: NodeInfo | null
  collections: CollectionInfo[]
  devices: DeviceInfo[]
  peers: PeerInfo[]
  nearby: NearbyDevice[]
  requests: PairingRequest[]
  /** Whether this device takes nearby pairing requests ("Pair nearby" open). */
  pairingMode: PairingMode
  replicators: ReplicatorInfo[]
  /** Bumped when documents of a collection change (by name): open tables reload. */
  docTicks: Record<string, number>
  /** The last failure of a background refresh, in words (shown in the status bar). */
  problem: string | null
  navigate(route: Route): void
}

export const useTandem = create<TandemState>()((set) => ({
  link: 'connecting',
  status: null,
  route: routeFromHash(location.hash),
  node: null,
  collections: [],
  devices: [],
  peers: [],
  nearby: [],
  requests: [],
  pairingMode: { open: false, until: null },
  replicators: [],
  docTicks: {},
  problem: null,
  navigate(route) {
    if (location.hash !== hashOf(route)) history.replaceState(null, '', hashOf(route))
    set({ route })
  },
}))

const set = useTandem.setState

async function load<K extends keyof TandemState>(key: K, get: () => Promise<TandemState[K]>): Promise<void> {
  try {
    const value = await get()
    // The node answering its regular info call means a past refresh failure is over.
    set({ [key]: value, ...(key === 'node' ? { problem: null } : {}) } as Partial<TandemState>)
  } catch (err) {
    set({ problem: err instanceof Error ? err.message : String(err) })
  }
}

export const loaders = {
  node: () => load('node', () => api().call('node.info')),
  collections: () => load('collections', () => api().call('collections.list')),
  devices: () => load('devices', () => api().call('devices.list')),
  peers: () => load('peers', () => api().call('peers.list')),
  nearby: () => load('nearby', () => api().call('pairing.nearby').catch(() => [])),
  requests: () => load('requests', () => api().call('pairing.requests').catch(() => [])),
  pairingMode: () => load('pairingMode', () => api().call('pairing.mode').catch(() => ({ open: false, until: null }))),
  replicators: () => load('replicators', () => api().call('replicators.getall')),
}

/**
 * Takes the node's status (from `node.status` or the `node:status` event); when it becomes ready
 * (or `reload`: after a reconnect, when events were missed) reads everything, which the app then shows.
 */
export async function takeStatus(status: NodeStatus, reload = false): Promise<void> {
  const was = useTandem.getState().status?.state
  set({ status })
  if (status.state === 'ready' && (was !== 'ready' || reload)) await loadAll().then(() => set({ problem: null }))
}

/** Asks the node how it is (a status call failing leaves the status as it was). */
export async function readStatus(reload = false): Promise<void> {
  try {
    await takeStatus(await api().call('node.status'), reload)
  } catch (err) {
    set({ problem: err instanceof Error ? err.message : String(err) })
  }
}

export function loadAll(): Promise<void> {
  return Promise.all(Object.values(loaders).map((l) => l())).then(() => undefined)
}

export function bumpDocs(collectionName: string): void {
  set((s) => ({ docTicks: { ...s.docTicks, [collectionName]: (s.docTicks[collectionName] ?? 0) + 1 } }))
}
