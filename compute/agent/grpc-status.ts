import { status as Status, type ServiceError } from '@grpc/grpc-js'
import { grpcErrorTable } from '../../lib/grpc-errors.ts'
import { ComputeError, type ComputeErrorCode } from './errors.ts'

/**
 * The one mapping between ComputeError codes and gRPC status codes; our
 * client reads the exact code from trailing metadata and falls back to this
 * table (first match) for callers that are not ringstack.
 */
const STATUS_OF: Record<ComputeErrorCode, Status> = {
  NotFound: Status.NOT_FOUND,
  InvalidArgument: Status.INVALID_ARGUMENT,
  Conflict: Status.FAILED_PRECONDITION,
  InsufficientCapacity: Status.RESOURCE_EXHAUSTED,
  DiskUnavailable: Status.UNAVAILABLE,
  HypervisorFailed: Status.INTERNAL,
  Timeout: Status.DEADLINE_EXCEEDED,
  Unavailable: Status.UNAVAILABLE,
  Internal: Status.INTERNAL
}

/** Statuses the gRPC stack produces itself rather than our handlers. */
const TRANSPORT_CODES: Partial<Record<Status, ComputeErrorCode>> = {
  [Status.UNAVAILABLE]: 'Unavailable',
  [Status.DEADLINE_EXCEEDED]: 'Unavailable',
  [Status.CANCELLED]: 'Unavailable'
}

const table = grpcErrorTable(ComputeError, STATUS_OF, TRANSPORT_CODES, 'Internal')

export const toStatus = table.toStatus
/** Client side: rebuilds the ComputeError the agent sent, or classifies a transport failure. */
export const fromServiceError = (err: ServiceError, address: string): ComputeError => table.fromServiceError(err, `compute agent ${address}`)
