import { Metadata, status as Status, type ServiceError, type StatusObject } from '@grpc/grpc-js'
import { ComputeError, type ComputeErrorCode } from './errors.ts'

/** Trailing metadata key carrying the exact ComputeError code. */
export const ERROR_CODE_KEY = 'ringstack-error-code'

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

const CODES = new Set<string>(Object.keys(STATUS_OF))

function isComputeErrorCode (code: string): code is ComputeErrorCode {
  return CODES.has(code)
}

/** Server side: any thrown value becomes a status the client can rebuild. */
export function toStatus (err: unknown): Partial<StatusObject> {
  const error = err instanceof ComputeError ? err : new ComputeError('Internal', 'internal error')
  const metadata = new Metadata()
  metadata.set(ERROR_CODE_KEY, error.code)
  return { code: STATUS_OF[error.code], details: error.message, metadata }
}

/** Client side: rebuilds the ComputeError the agent sent, or classifies a transport failure. */
export function fromServiceError (err: ServiceError, address: string): ComputeError {
  const sent = err.metadata?.get(ERROR_CODE_KEY)[0]
  if (typeof sent === 'string' && isComputeErrorCode(sent)) return new ComputeError(sent, err.details, { cause: err })
  const code = TRANSPORT_CODES[err.code] ??
    (Object.entries(STATUS_OF).find(([, status]) => status === err.code)?.[0] as ComputeErrorCode | undefined) ??
    'Internal'
  return new ComputeError(code, `compute agent ${address}: ${err.details || Status[err.code]}`, { cause: err })
}
