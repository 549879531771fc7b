/**
 * What the control store holds about volumes. A volume's bytes live in a
 * chain of layers: its head (the only writable one) and, behind it, the
 * frozen layers of the snapshots it was taken from or cloned from. A read of
 * a chunk the head lacks falls through the chain.
 */

export interface VolumeRecord {
  id: string
  project: string
  name: string
  /** Bytes; a multiple of SECTOR. */
  size: number
  chunkSize: number
  /** The writable layer. */
  head: string
  /** The snapshot this volume was cloned from, until it is flattened. */
  sourceSnapshot: string | null
  createdAt: string
}

export interface SnapshotRecord {
  id: string
  project: string
  volumeId: string
  name: string
  /** The frozen layer that was the volume's head when the snapshot was taken. */
  layer: string
  size: number
  chunkSize: number
  createdAt: string
}

export interface LayerRecord {
  id: string
  /** The older layer reads fall through to; null at the bottom of a chain. */
  parent: string | null
}

/** One writer at a time per volume; `epoch` only ever rises, so storage nodes can fence older writers. */
export interface LeaseRecord {
  /** '' when released. */
  holder: string
  epoch: number
  /** Milliseconds since the epoch (the control store's single clock). */
  expiresAt: number
}

export const SECTOR = 512
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024
export const MIN_CHUNK_SIZE = 64 * 1024
export const MAX_CHUNK_SIZE = 64 * 1024 * 1024
/** 64 TiB keeps every byte offset an exact double. */
export const MAX_VOLUME_SIZE = 64 * 1024 ** 4

export const keys = {
  volume: (id: string) => `volumes/${id}`,
  volumes: 'volumes/',
  volumeName: (project: string, name: string) => `volume-names/${project}/${name}`,
  snapshot: (id: string) => `snapshots/${id}`,
  snapshots: 'snapshots/',
  snapshotName: (project: string, name: string) => `snapshot-names/${project}/${name}`,
  layer: (id: string) => `layers/${id}`,
  layers: 'layers/',
  lease: (volumeId: string) => `leases/${volumeId}`
}
