import { addressOf, type Placement, type PlacementDevice } from '../object-client/placement.ts'
import { CHUNKS_ACCOUNT } from './chunk-layout.ts'
import type { ChunkRef } from './chunk-store.ts'

/**
 * What the chunk store needs of the ring: the object client's placement,
 * plus the replica count and every device (scan, fence, flush and drop ask
 * every node). ring/ Ring satisfies it structurally.
 */
export interface ChunkPlacement extends Placement {
  readonly replicas: number
  /** Indexed by device id; removed ids are holes. */
  readonly devices: ReadonlyArray<PlacementDevice | undefined>
}

export interface ChunkPlacementSource {
  current (): ChunkPlacement
}

/** The ring partition of /.chunks/<layer>/<index>. */
export function chunkPartition (placement: ChunkPlacement, chunk: ChunkRef): number {
  return placement.partition(CHUNKS_ACCOUNT, chunk.layer, String(chunk.index))
}

/** Rings are immutable: their node lists are worked out once. */
const nodeLists = new WeakMap<ChunkPlacement, PlacementDevice[]>()

/** One device per node address, in ring order: a node answers control calls for all its devices. */
export function nodesOf (placement: ChunkPlacement): PlacementDevice[] {
  let nodes = nodeLists.get(placement)
  if (nodes === undefined) {
    const seen = new Map<string, PlacementDevice>()
    for (const device of placement.devices) {
      if (device !== undefined && !seen.has(addressOf(device))) seen.set(addressOf(device), device)
    }
    nodes = [...seen.values()]
    nodeLists.set(placement, nodes)
  }
  return nodes
}
