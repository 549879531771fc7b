import { RingstackError } from '../lib/errors.ts'

/**
 * Everything that can go wrong talking to a storage node. `code` travels over
 * gRPC (see grpc-status.ts) so a client rebuilds the same typed error.
 */
export type StorageErrorCode =
  /** A write older than (or as old as) the stored version: last write wins. */
  | 'Conflict'
  /** Stored bytes failed their checksum; the replica is bad, try another. */
  | 'Corrupt'
  /** A chunk write from a writer whose epoch a newer writer has fenced off. */
  | 'StaleEpoch'
  /** A partial chunk write that does not follow the replica's version: the replica missed writes. */
  | 'StaleChunk'
  /** A read pinned to one version found another (the object changed). */
  | 'VersionMismatch'
  /** Malformed request: bad range, oversized chunk, bad name, bad stream order. */
  | 'InvalidArgument'
  /** The named device is not served by this node. */
  | 'UnknownDevice'
  /** Node unreachable, stopping, or timed out. */
  | 'Unavailable'
  /** Not enough replicas answered to reach the quorum. */
  | 'QuorumNotMet'
  /** No replica holds a live copy. */
  | 'NotFound'
  /** The container an object operation names does not exist. */
  | 'NoSuchContainer'
  /** A read range that starts at or past the end of the object. */
  | 'RangeNotSatisfiable'
  /** A listing (container, account) still holds live entries. */
  | 'NotEmpty'
  | 'Internal'

export class StorageError extends RingstackError<StorageErrorCode> {}
