/**
 * The contract between volumes (storage/volume) and the replicated chunk
 * store on the ring. A volume's data lives in layers (its head, each
 * snapshot, each clone's head); a layer is a sparse array of fixed-size
 * chunks, each chunk a replicated unit on the ring's partition of
 * `/.chunks/<layer>/<index>`.
 *
 * Block writes are not last-write-wins: one writer at a time (fenced by an
 * epoch per layer) gives every write of a chunk the next version, and
 * replicas only accept a partial write on top of exactly the version it
 * follows, so no replica ever mixes old and new bytes under a new version.
 */

/** Versions order by epoch, then seq. */
export interface ChunkVersion {
  /** The writer's fencing epoch. */
  epoch: number
  /** Per-writer counter, rising with every write the writer makes in its epoch. */
  seq: number
}

/** What a layer holds at one chunk index. */
export interface ChunkState {
  version: ChunkVersion
  /** Trimmed: the chunk reads as zeroes and shadows any parent layer. */
  hole: boolean
}

export interface ChunkRef {
  layer: string
  index: number
}

/** Epoch that freezes a layer for good (snapshots): every write is refused. */
export const FROZEN_EPOCH = 0x7fffffff

export type ChunkWrite =
  | { kind: 'data', offset: number, data: Buffer }
  | { kind: 'zero', offset: number, length: number }
  /** The whole chunk becomes a hole (tombstone). */
  | { kind: 'trim' }

export interface ChunkWriteRequest {
  chunk: ChunkRef
  chunkSize: number
  write: ChunkWrite
  /** The version this write follows; null when the layer has no such chunk yet (or it is a hole). */
  prev: ChunkVersion | null
  next: ChunkVersion
  /** Durable (fdatasync) on every replica before the promise resolves. */
  fua: boolean
}

export interface ChunkStore {
  /**
   * The newest state of every chunk of a layer, across all nodes. Fails with
   * Unavailable unless every node but at most one answered (a write reaches
   * at least two replicas, so the newest version is then always seen).
   */
  scan (layer: string): Promise<Map<number, ChunkState>>
  /**
   * Raises the layer's epoch on every node: from then on nodes refuse writes
   * with a lower epoch (StaleEpoch). Same availability rule as scan. A fence
   * below the epoch already in force fails with StaleEpoch (a newer writer
   * holds the layer); the same epoch again is a no-op.
   */
  fence (layer: string, epoch: number): Promise<void>
  /**
   * Resolves once every live replica holds the write at `next` (a handoff
   * stands in for an unreachable primary; replicas that lag are repaired
   * with the whole chunk). Fails (Unavailable) with fewer than two replicas,
   * StaleEpoch when fenced.
   */
  write (request: ChunkWriteRequest): Promise<void>
  /**
   * Bytes [offset, offset + length) of the chunk at exactly `version`, read
   * from any replica that has it. VersionMismatch when the chunk has moved
   * past `version` (a write landed in between: look again).
   */
  read (chunk: ChunkRef, chunkSize: number, version: ChunkVersion, offset: number, length: number): Promise<Buffer>
  /** Makes every write to the layer so far durable on its replicas. */
  flush (layer: string): Promise<void>
  /**
   * Deletes every chunk of the layer on every node; fails (Unavailable) if
   * any node did not answer, so the caller retries. The layer stays frozen
   * (FROZEN_EPOCH) on the nodes: its id must not be used again.
   */
  drop (layer: string): Promise<void>
}
