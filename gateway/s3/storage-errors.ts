import { StorageError, type StorageErrorCode } from '../../storage/index.ts'
import { S3Error, type S3ErrorCode } from './errors.ts'

/** The one table from storage outcomes to what S3 clients expect to see. */
const S3_CODE_OF: Record<StorageErrorCode, S3ErrorCode> = {
  NotFound: 'NoSuchKey',
  NoSuchContainer: 'NoSuchBucket',
  NotEmpty: 'BucketNotEmpty',
  RangeNotSatisfiable: 'InvalidRange',
  InvalidArgument: 'InvalidArgument',
  // A newer write of the same key won on the replicas: the client raced another writer.
  Conflict: 'OperationAborted',
  VersionMismatch: 'OperationAborted',
  QuorumNotMet: 'ServiceUnavailable',
  Unavailable: 'ServiceUnavailable',
  UnknownDevice: 'InternalError',
  // Chunk (volume) outcomes never reach S3 requests.
  StaleEpoch: 'InternalError',
  StaleChunk: 'InternalError',
  Corrupt: 'InternalError',
  Internal: 'InternalError'
}

/** Storage errors become their S3 counterparts; anything else passes through. */
export function fromStorageError (err: unknown): unknown {
  if (!(err instanceof StorageError)) return err
  const code = S3_CODE_OF[err.code]
  // Storage messages speak of containers and replicas: clients get S3's own words, except for an invalid argument's reason.
  return new S3Error(code, code === 'InvalidArgument' ? err.message : undefined, { cause: err })
}
