import { Metadata, status as Status, type ServiceError, type StatusObject } from '@grpc/grpc-js'
import { StorageError, type StorageErrorCode } from './errors.ts'

/** Trailing metadata key carrying the exact StorageError code. */
export const ERROR_CODE_KEY = 'ringstack-error-code'

/**
 * The one mapping between StorageError codes and gRPC status codes. The
 * status alone is what non-ringstack gRPC tools see; our own client reads the
 * exact code from trailing metadata and falls back to this table (first
 * match) only when the metadata is missing.
 */
const STATUS_OF: Record<StorageErrorCode, Status> = {
  InvalidArgument: Status.INVALID_ARGUMENT,
  RangeNotSatisfiable: Status.OUT_OF_RANGE,
  Conflict: Status.ABORTED,
  VersionMismatch: Status.FAILED_PRECONDITION,
  StaleEpoch: Status.FAILED_PRECONDITION,
  StaleChunk: Status.FAILED_PRECONDITION,
  Corrupt: Status.DATA_LOSS,
  NotFound: Status.NOT_FOUND,
  NoSuchContainer: Status.NOT_FOUND,
  NotEmpty: Status.FAILED_PRECONDITION,
  UnknownDevice: Status.NOT_FOUND,
  Unavailable: Status.UNAVAILABLE,
  QuorumNotMet: Status.UNAVAILABLE,
  Internal: Status.INTERNAL
}

/** Statuses produced by the gRPC stack itself rather than by our handlers. */
const TRANSPORT_CODES: Partial<Record<Status, StorageErrorCode>> = {
  [Status.DEADLINE_EXCEEDED]: 'Unavailable',
  [Status.CANCELLED]: 'Unavailable',
  [Status.RESOURCE_EXHAUSTED]: 'InvalidArgument'
}

const CODES = new Set<string>(Object.keys(STATUS_OF))

export function isStorageErrorCode (code: string): code is StorageErrorCode {
  return CODES.has(code)
}

/** Server side: any thrown value becomes a status the client can rebuild. */
export function toStatus (err: unknown): Partial<StatusObject> {
  const error = err instanceof StorageError ? err : new StorageError('Internal', 'internal error')
  const metadata = new Metadata()
  metadata.set(ERROR_CODE_KEY, error.code)
  return { code: STATUS_OF[error.code], details: error.message, metadata }
}

/** Client side: rebuilds the StorageError a node sent, or classifies a transport failure. */
export function fromServiceError (err: ServiceError, address: string): StorageError {
  const sent = err.metadata?.get(ERROR_CODE_KEY)[0]
  if (typeof sent === 'string' && isStorageErrorCode(sent)) {
    return new StorageError(sent, err.details, { cause: err })
  }
  const code = TRANSPORT_CODES[err.code] ??
    (Object.entries(STATUS_OF).find(([, status]) => status === err.code)?.[0] as StorageErrorCode | undefined) ??
    'Internal'
  return new StorageError(code, `${address}: ${err.details || Status[err.code]}`, { cause: err })
}
