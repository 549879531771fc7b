import { RingstackError } from '../../lib/errors.ts'
import { StorageError, type StorageErrorCode } from '../../storage/index.ts'

export type SwiftErrorCode =
  | 'BadRequest' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'MethodNotAllowed' | 'Conflict' | 'LengthRequired'
  | 'PreconditionFailed' | 'TooLarge' | 'RangeNotSatisfiable' | 'UnprocessableEntity' | 'NotModified'
  | 'NotImplemented' | 'Unavailable' | 'Internal'

/** A Swift API refusal; `message` is the short body Swift sends (its own words when absent). */
export class SwiftError extends RingstackError<SwiftErrorCode> {
  constructor (code: SwiftErrorCode, message = '', options?: ErrorOptions) {
    super(code, message, options)
  }
}

/** The one table from Swift error codes to status, title and Swift's default body. */
const STATUS_OF: Record<SwiftErrorCode, { status: number, title: string, text: string }> = {
  BadRequest: { status: 400, title: 'Bad Request', text: 'The server could not comply with the request since it is either malformed or otherwise incorrect.' },
  Unauthorized: { status: 401, title: 'Unauthorized', text: 'This server could not verify that you are authorized to access the document you requested.' },
  Forbidden: { status: 403, title: 'Forbidden', text: 'Access was denied to this resource.' },
  NotFound: { status: 404, title: 'Not Found', text: 'The resource could not be found.' },
  MethodNotAllowed: { status: 405, title: 'Method Not Allowed', text: 'The method is not allowed for this resource.' },
  Conflict: { status: 409, title: 'Conflict', text: 'There was a conflict when trying to complete your request.' },
  LengthRequired: { status: 411, title: 'Length Required', text: 'Missing Content-Length header.' },
  PreconditionFailed: { status: 412, title: 'Precondition Failed', text: 'A precondition for this request was not met.' },
  TooLarge: { status: 413, title: 'Request Entity Too Large', text: 'The body of your request was too large for this server.' },
  RangeNotSatisfiable: { status: 416, title: 'Requested Range Not Satisfiable', text: 'The Range requested is not available.' },
  UnprocessableEntity: { status: 422, title: 'Unprocessable Entity', text: 'Unable to process the contained instructions' },
  NotModified: { status: 304, title: 'Not Modified', text: '' },
  NotImplemented: { status: 501, title: 'Not Implemented', text: 'The requested method is not implemented.' },
  Unavailable: { status: 503, title: 'Service Unavailable', text: 'The server is currently unavailable. Please try again at a later time.' },
  Internal: { status: 500, title: 'Internal Error', text: 'An internal server error occurred.' }
}

/** The one table from storage outcomes to Swift's. */
const SWIFT_CODE_OF: Record<StorageErrorCode, SwiftErrorCode> = {
  NotFound: 'NotFound',
  NoSuchContainer: 'NotFound',
  NotEmpty: 'Conflict',
  RangeNotSatisfiable: 'RangeNotSatisfiable',
  InvalidArgument: 'BadRequest',
  // A newer write of the same name won on the replicas: the client raced another writer.
  Conflict: 'Conflict',
  VersionMismatch: 'Conflict',
  QuorumNotMet: 'Unavailable',
  Unavailable: 'Unavailable',
  UnknownDevice: 'Internal',
  StaleEpoch: 'Internal',
  StaleChunk: 'Internal',
  Corrupt: 'Internal',
  Internal: 'Internal'
}

/** Any error as a SwiftError: storage errors by the table, anything unknown Internal. */
export function toSwiftError (err: unknown): SwiftError {
  if (err instanceof SwiftError) return err
  if (err instanceof StorageError) {
    const code = SWIFT_CODE_OF[err.code]
    return new SwiftError(code, code === 'BadRequest' ? err.message : '', { cause: err })
  }
  return new SwiftError('Internal', '', { cause: err })
}

/** Status and body as Swift renders them: `<html><h1>Title</h1><p>text</p></html>`, or the plain message given. */
export function renderSwiftError (error: SwiftError): { status: number, type: string, body: string } {
  const entry = STATUS_OF[error.code]
  if (error.message !== '') return { status: entry.status, type: 'text/plain; charset=UTF-8', body: error.message }
  if (entry.text === '') return { status: entry.status, type: 'text/plain; charset=UTF-8', body: '' }
  return { status: entry.status, type: 'text/html; charset=UTF-8', body: `<html><h1>${entry.title}</h1><p>${entry.text}</p></html>` }
}
