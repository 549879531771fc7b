import { status as Status, type ServiceError } from '@grpc/grpc-js'
import { grpcErrorTable } from '../lib/grpc-errors.ts'
import { StorageError, type StorageErrorCode } from './errors.ts'

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

const table = grpcErrorTable(StorageError, STATUS_OF, TRANSPORT_CODES, 'Internal')

export const isStorageErrorCode = table.isCode
export const toStatus = table.toStatus
/** Client side: rebuilds the StorageError a node sent, or classifies a transport failure. */
export const fromServiceError = (err: ServiceError, address: string): StorageError => table.fromServiceError(err, address)
