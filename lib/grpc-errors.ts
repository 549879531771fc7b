import { Metadata, status as Status, type ServiceError, type StatusObject } from '@grpc/grpc-js'
import type { RingstackError } from './errors.ts'

/** Trailing metadata key carrying the exact error code across gRPC. */
export const ERROR_CODE_KEY = 'ringstack-error-code'

export interface GrpcErrorTable<C extends string, E extends RingstackError<C>> {
  isCode: (code: string) => code is C
  /** Server side: any thrown value becomes a status the client can rebuild. */
  toStatus: (err: unknown) => Partial<StatusObject>
  /** Client side: rebuilds the error the server sent, or classifies a transport failure (`who` names the peer in the message). */
  fromServiceError: (err: ServiceError, who: string) => E
}

/**
 * One domain's mapping between its error codes and gRPC status codes. The
 * status alone is what non-ringstack gRPC tools see; our clients read the
 * exact code from trailing metadata and fall back to the table (first
 * match), or to `transport` for statuses the gRPC stack makes itself.
 */
export function grpcErrorTable<C extends string, E extends RingstackError<C>> (
  ErrorClass: new (code: C, message: string, options?: ErrorOptions) => E,
  statusOf: Record<C, Status>,
  transport: Partial<Record<Status, C>>,
  internal: C
): GrpcErrorTable<C, E> {
  const codes = new Set<string>(Object.keys(statusOf))
  const isCode = (code: string): code is C => codes.has(code)
  return {
    isCode,
    toStatus (err) {
      const error = err instanceof ErrorClass ? err : new ErrorClass(internal, 'internal error')
      const metadata = new Metadata()
      metadata.set(ERROR_CODE_KEY, error.code)
      return { code: statusOf[error.code], details: error.message, metadata }
    },
    fromServiceError (err, who) {
      const sent = err.metadata?.get(ERROR_CODE_KEY)[0]
      if (typeof sent === 'string' && isCode(sent)) return new ErrorClass(sent, err.details, { cause: err })
      const code = transport[err.code] ??
        (Object.entries(statusOf).find(([, status]) => status === err.code)?.[0] as C | undefined) ??
        internal
      return new ErrorClass(code, `${who}: ${err.details || Status[err.code]}`, { cause: err })
    }
  }
}
