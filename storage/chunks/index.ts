export {
  FROZEN_EPOCH, type ChunkStore, type ChunkVersion, type ChunkState, type ChunkRef, type ChunkWrite, type ChunkWriteRequest
} from './chunk-store.ts'
export { ReplicatedChunkStore, type ReplicatedChunkStoreComponents, type ReplicatedChunkStoreOptions } from './replicated-chunk-store.ts'
export type { ChunkPlacement, ChunkPlacementSource } from './chunk-placement.ts'
export { ChunkNodeClient, type ChunkNodeClientOptions, type NodeScanEntry } from './chunk-node-client.ts'
export { FrameCodec } from './data-frames.ts'
export { ChunkStateError } from './chunk-errors.ts'
export { compareVersions, sameVersion, formatVersion } from './chunk-version.ts'
export { MAX_CHUNK_SIZE, chunkFile } from './chunk-layout.ts'
export { chunkPartition } from './chunk-placement.ts'
