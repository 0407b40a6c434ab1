/** The shapes calls return and events carry, beyond the database types in shared/types.ts. */
import type { BlockCID, CollectionID, DeviceID, DocID, Fields } from '../types.ts'

/** One change of a document: a block of its Merkle DAG. */
export interface HistoryNode {
  cid: BlockCID
  /** The device that wrote it, and its name when the device is known here. */
  device: DeviceID
  deviceName?: string
  /** Wall-clock time the device wrote it (display only). */
  time: number
  height: number
  /** Links to the previous heads: two or more where branches merged. */
  links: BlockCID[]
  /** The fields this change set. */
  changed: Fields
  /** Set on a delete (true) or a restore (false). */
  deleted?: boolean
}

export type NetworkState = 'off' | 'online' | 'paused'

export interface NodeInfo {
  peerID: DeviceID
  deviceName: string
  /** Multiaddrs other devices can dial, each ending /p2p/<peerID>. */
  addresses: string[]
  /** `off`: started without the network (--no-p2p); `paused`: offline by choice. */
  network: NetworkState
  online: boolean
  paused: boolean
  /** Changes waiting in replicator outboxes for their targets to ack. */
  pendingOutgoing: number
  /** Group devices connected now. */
  connectedDevices: number
  /** A head exchange + DAG sync is running. */
  syncing: boolean
  dataDir: string
  version: string
  /**
   * The last upgrade of this data directory's store format, made when a newer Tandem first opened
   * it (formats, when it finished, how long it took in ms); null when it never needed one.
   */
  lastUpgrade: { from: number; to: number; at: number; ms: number } | null
}

export type PathKind = 'lan' | 'direct' | 'relayed'

export interface PeerInfo {
  peerID: string
  addresses: string[]
  /** The best live path, or null when the peer is only known or discovered. */
  connection: PathKind | null
  paired: boolean
  /** How it was found: `mdns`, `bootstrap`, `relay`, `known`, `introducer`, `inbound`, … */
  discoveredBy: string[]
  rttMs?: number
}

export interface DeviceInfo {
  peerID: DeviceID
  name: string
  online: boolean
  lastSeen: number | null
  addresses: string[]
  addedAt: number
}

export interface InviteResult {
  id: string
  /** `tandem://pair?…`: give it to the other device (paste, or scan the QR). */
  uri: string
  expiresAt: number
  /** The URI as a QR code, an SVG document (when the node can draw one). */
  qrSvg?: string
}

export interface ActiveInvite {
  id: string
  expiresAt: number
}

/** A device found on the local network by mDNS (its name is a hint: anyone on the LAN can claim one). */
export interface NearbyDevice {
  peerID: string
  name?: string
  addresses: string[]
  discoveredAt: number
}

interface PairingRequestBase {
  id: string
  peerID: string
  /** The name the other device gives itself: unverified (any device can claim any name). */
  claimedName?: string
  expiresAt: number
  /**
   * Entries of the code still allowed before the request is dropped (counted by the device asked;
   * the asking device counts the tries it answered).
   */
  triesLeft: number
}

/**
 * A nearby pairing request. Outgoing: this device shows `code`; its person types it on the other
 * device. Incoming: no code here — the person types the one the other device shows
 * (`pairing.accept {id, code}`).
 */
export type PairingRequest =
  | (PairingRequestBase & { direction: 'incoming' })
  | (PairingRequestBase & { direction: 'outgoing'; code: string })

/** 'wrong-code': the code was typed wrong on every try allowed. */
export type PairingOutcome = 'accepted' | 'declined' | 'expired' | 'wrong-code'

/** Whether this device takes nearby pairing requests ("Pair nearby" open), and until when (ms since epoch). */
export interface PairingMode {
  open: boolean
  until: number | null
}

export interface ReplicatorInfo {
  /** The device the collections/documents are pushed to. */
  target: DeviceID
  collections: CollectionID[]
  documents: Array<{ collection: CollectionID; docID: DocID }>
  createdAt: number
  connected: boolean
  /** Changes in the outbox, not yet acked by the target. */
  pending: number
  lastAck: number | null
  lastError: string | null
  /** The first catch-up of the target for the current scope. */
  initialSync: { state: 'waiting' | 'running' | 'done'; done: number; total: number }
  initialSynced: boolean
}

export interface SyncReport {
  peer: DeviceID
  collections: number
  differingDocs: number
  fetched: number
  applied: number
  rejected: number
}
