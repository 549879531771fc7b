import { join } from 'node:path'
import { StorageError } from '../errors.ts'
import { FROZEN_EPOCH, type ChunkVersion } from './chunk-store.ts'

/** Largest chunk a layer may use (the volume layer's limit too). */
export const MAX_CHUNK_SIZE = 64 * 1024 * 1024
/** Chunk indexes are uint32 on the wire. */
export const MAX_CHUNK_INDEX = 0xffffffff
/**
 * gRPC message limit on the chunk service: one whole chunk (a repair, a
 * whole-chunk read) plus framing must fit in one message.
 */
export const MAX_CHUNK_MESSAGE_BYTES = MAX_CHUNK_SIZE + 64 * 1024

/** Layer ids become directory names and key parts: no '/', no dot names. */
const LAYER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export function checkLayer (layer: string): string {
  if (!LAYER.test(layer)) throw new StorageError('InvalidArgument', `bad layer id ${JSON.stringify(layer)}`)
  return layer
}

export function checkIndex (index: number): number {
  if (!Number.isInteger(index) || index < 0 || index > MAX_CHUNK_INDEX) {
    throw new StorageError('InvalidArgument', `chunk index ${index} is out of range`)
  }
  return index
}

export function checkChunkSize (chunkSize: number): number {
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new StorageError('InvalidArgument', `chunk size ${chunkSize} is out of range 1..${MAX_CHUNK_SIZE}`)
  }
  return chunkSize
}

/** [offset, offset + length) must lie within the chunk. */
export function checkRange (offset: number, length: number, chunkSize: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > chunkSize) {
    throw new StorageError('InvalidArgument', `range ${offset}+${length} is not within a chunk of ${chunkSize}`)
  }
}

/** A version a writer may write at: epochs 1..FROZEN_EPOCH-1 (FROZEN_EPOCH only fences). */
export function checkWriteVersion (version: ChunkVersion): ChunkVersion {
  if (!Number.isInteger(version.epoch) || version.epoch < 1 || version.epoch >= FROZEN_EPOCH ||
    !Number.isSafeInteger(version.seq) || version.seq < 0) {
    throw new StorageError('InvalidArgument', `bad chunk version ${version.epoch}.${version.seq}`)
  }
  return version
}

/** The ring path a chunk is placed by: /.chunks/<layer>/<index>. */
export const CHUNKS_ACCOUNT = '.chunks'

/** `<device>/chunks/<partition>/<layer>/<index>`: one partition is one directory, for the replicator. */
export function chunkDir (root: string, partition: number, layer: string): string {
  return join(root, 'chunks', String(partition), layer)
}

export function chunkFile (root: string, partition: number, layer: string, index: number): string {
  return join(chunkDir(root, partition, layer), String(index))
}
