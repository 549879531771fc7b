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
  /** The image this volume was created from; kept after a flatten (Cinder keeps showing it), absent on older records. */
  sourceImage?: string | null
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

/**
 * What volumes rely on in an image's record (`images/<id>`; compute/images
 * keeps the whole Glance-shaped record there, under Glance's field names).
 * An active image's bytes are a frozen layer that volumes clone in O(1),
 * exactly as they clone a snapshot's.
 */
export interface ImageBase {
  id: string
  /** The owning project. */
  owner: string
  /** Public images may be cloned by any project, private ones by their owner's only. */
  visibility: 'private' | 'public'
  status: 'queued' | 'saving' | 'active' | 'killed'
  /** Exact bytes of the image's data; null until uploaded. */
  size: number | null
  /** GiB a volume made from the image needs at least. */
  min_disk: number
  /**
   * Where the bytes live: claimed when an upload starts, so the layer GC
   * keeps the layer from its first byte on; frozen once the image is active;
   * null when there are no bytes (queued, killed).
   */
  store: ImageStore | null
}

export interface ImageStore {
  layer: string
  chunkSize: number
  /** Which process is filling the layer (while saving): a restarted one knows its own uploads died with it. */
  writer: string
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
  lease: (volumeId: string) => `leases/${volumeId}`,
  image: (id: string) => `images/${id}`,
  images: 'images/'
}
