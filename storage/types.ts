import type { ListingNodeClient } from './listing-types.ts'
import type { PartitionEntry } from './partition-digest.ts'
import type { PutChunk } from './put-chunk.ts'

/** Names one object replica on one device of a storage node. */
export interface ObjectRef {
  device: string
  partition: number
  account: string
  container: string
  object: string
}

export interface ObjectInfo {
  /** False when the node never stored this name. */
  exists: boolean
  /** True when the newest record is a tombstone. */
  deleted: boolean
  /** HLC stamp of the newest record (0n when !exists). */
  timestamp: bigint
  size: number
  /** xxh64 of the whole body, 16 hex digits ('' for tombstones). */
  checksum: string
  metadata: Record<string, string>
}

export interface PutOptions {
  timestamp: bigint
  /** Body length when known up front; enables an early size check. */
  size?: number
  metadata?: Record<string, string>
  /** Abort the call when it has not finished by then (ms since epoch). */
  deadline?: number
}

/** One replica being written. Nothing is visible until finish() resolves. */
export interface PutStream {
  /**
   * Resolves when the chunk may be followed by another (backpressure). A
   * PutChunk is sent as encoded, so replicas of one put can share it.
   */
  write (chunk: Uint8Array | PutChunk): Promise<void>
  /** Ends the body; `metadata` merges over the header's. Resolves once durable. */
  finish (metadata?: Record<string, string>): Promise<ObjectInfo>
  /** Abandons the write; the node discards what it received. */
  abort (reason?: Error): void
}

export interface GetOptions {
  offset?: number
  /** Bytes to read from offset; undefined = to the end. */
  length?: number
  /** Serve only this exact version (VersionMismatch otherwise). */
  timestamp?: bigint
  deadline?: number
}

/** A read in progress: `info` first, then the body (empty unless live). */
export interface GetStream {
  info: ObjectInfo
  body: AsyncIterable<Uint8Array>
  /** Stops the transfer early (the body iterator then ends or throws). */
  cancel (): void
}

/** What the object and listing clients need from one storage node. */
export interface StorageNodeClient {
  readonly address: string
  /** The node's ListingStore calls. */
  readonly listings: ListingNodeClient
  put (ref: ObjectRef, options: PutOptions): PutStream
  get (ref: ObjectRef, options?: GetOptions): Promise<GetStream>
  head (ref: ObjectRef, options?: { deadline?: number }): Promise<ObjectInfo>
  delete (ref: ObjectRef, timestamp: bigint, options?: { deadline?: number }): Promise<ObjectInfo>
  /** Replication: digest per suffix of a partition on one of the node's devices (storage/partition-digest.ts). */
  partitionDigest (device: string, partition: number, options?: { deadline?: number }): Promise<Map<string, string>>
  /** Replication: newest version per name under some suffixes. */
  partitionEntries (device: string, partition: number, suffixes: string[], options?: { deadline?: number }): Promise<PartitionEntry[]>
  close (): void
}
