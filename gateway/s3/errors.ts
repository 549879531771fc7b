import { RingstackError } from '../../lib/errors.ts'
import { escapeXml } from './xml-escape.ts'

/**
 * Every S3 error code the gateway can answer with, its HTTP status and the
 * message S3 itself uses. Clients key their behaviour on Code and status
 * (retries on 503/SlowDown, re-signing on RequestTimeTooSkewed), so both must
 * match AWS; the message is what a human sees.
 */
const S3_ERRORS = {
  AccessDenied: [403, 'Access Denied'],
  AuthorizationHeaderMalformed: [400, 'The authorization header is malformed.'],
  AuthorizationQueryParametersError: [400, 'The authorization query parameters are malformed.'],
  BadDigest: [400, 'The Content-MD5 or checksum value that you specified did not match what the server received.'],
  BucketAlreadyExists: [409, 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.'],
  BucketAlreadyOwnedByYou: [409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  BucketNotEmpty: [409, 'The bucket you tried to delete is not empty'],
  ConditionalRequestConflict: [409, 'A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload you should initiate another CreateMultipartUpload request and re-upload each part.'],
  EntityTooLarge: [400, 'Your proposed upload exceeds the maximum allowed size'],
  EntityTooSmall: [400, 'Your proposed upload is smaller than the minimum allowed object size.'],
  ExpiredToken: [400, 'The provided token has expired.'],
  IllegalLocationConstraintException: [400, 'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.'],
  IncompleteBody: [400, 'You did not provide the number of bytes specified by the Content-Length HTTP header.'],
  InternalError: [500, 'We encountered an internal error. Please try again.'],
  InvalidAccessKeyId: [403, 'The AWS Access Key Id you provided does not exist in our records.'],
  InvalidArgument: [400, 'Invalid Argument'],
  InvalidBucketName: [400, 'The specified bucket is not valid.'],
  InvalidDigest: [400, 'The Content-MD5 you specified is not valid.'],
  InvalidLocationConstraint: [400, 'The specified location constraint is not valid.'],
  InvalidPart: [400, 'One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.'],
  InvalidPartNumber: [416, 'The requested partnumber is not satisfiable'],
  InvalidPartOrder: [400, 'The list of parts was not in ascending order. The parts list must be specified in order by part number.'],
  InvalidRange: [416, 'The requested range is not satisfiable'],
  InvalidRequest: [400, 'Invalid Request'],
  InvalidStorageClass: [400, 'The storage class you specified is not valid'],
  InvalidURI: [400, 'Couldn\'t parse the specified URI.'],
  KeyTooLongError: [400, 'Your key is too long'],
  MalformedTrailerError: [400, 'The request contained trailing data that was not well-formed or did not conform to our published schema.'],
  MalformedXML: [400, 'The XML you provided was not well-formed or did not validate against our published schema'],
  MetadataTooLarge: [400, 'Your metadata headers exceed the maximum allowed metadata size'],
  MethodNotAllowed: [405, 'The specified method is not allowed against this resource.'],
  MissingContentLength: [411, 'You must provide the Content-Length HTTP header.'],
  MissingRequestBodyError: [400, 'Request Body is empty'],
  MissingSecurityHeader: [400, 'Your request is missing a required header.'],
  NoSuchBucket: [404, 'The specified bucket does not exist'],
  NoSuchKey: [404, 'The specified key does not exist.'],
  NoSuchUpload: [404, 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.'],
  NoSuchVersion: [404, 'The specified version does not exist.'],
  NotImplemented: [501, 'A header you provided implies functionality that is not implemented'],
  NotModified: [304, 'Not Modified'],
  OperationAborted: [409, 'A conflicting conditional operation is currently in progress against this resource. Try again.'],
  PreconditionFailed: [412, 'At least one of the pre-conditions you specified did not hold'],
  RequestTimeTooSkewed: [403, 'The difference between the request time and the current time is too large.'],
  RequestTimeout: [400, 'Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.'],
  ServiceUnavailable: [503, 'Service is unable to handle request.'],
  SignatureDoesNotMatch: [403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'],
  SlowDown: [503, 'Please reduce your request rate.'],
  TooManyBuckets: [400, 'You have attempted to create more buckets than allowed'],
  UnexpectedContent: [400, 'This request does not support content'],
  XAmzContentSHA256Mismatch: [400, 'The provided \'x-amz-content-sha256\' header does not match what was computed.']
} as const satisfies Record<string, readonly [status: number, message: string]>

export type S3ErrorCode = keyof typeof S3_ERRORS

export interface S3ErrorOptions extends ErrorOptions {
  /** The bucket or object path the error is about (the XML `Resource`). */
  resource?: string
  /**
   * Further elements of the XML body, in order, e.g. `StringToSign` and
   * `CanonicalRequest` for SignatureDoesNotMatch, `ArgumentName` for
   * InvalidArgument. Names must be XML element names.
   */
  details?: Record<string, string>
}

export class S3Error extends RingstackError {
  declare readonly code: S3ErrorCode
  readonly status: number
  readonly resource: string | undefined
  readonly details: Readonly<Record<string, string>>

  constructor (code: S3ErrorCode, message?: string, options: S3ErrorOptions = {}) {
    const [status, defaultMessage] = S3_ERRORS[code]
    super(code, message ?? defaultMessage, options.cause === undefined ? undefined : { cause: options.cause })
    this.status = status
    this.resource = options.resource
    this.details = options.details ?? {}
  }
}

export function isS3ErrorCode (code: string): code is S3ErrorCode {
  return Object.hasOwn(S3_ERRORS, code)
}

export function s3ErrorStatus (code: S3ErrorCode): number {
  return S3_ERRORS[code][0]
}

/**
 * The S3 error to answer for anything thrown while serving a request: S3
 * errors as they are, other domain errors whose code S3 also uses (e.g. a
 * storage `InvalidArgument`) under that code, the rest as InternalError so
 * that internals never leak into a response.
 */
export function toS3Error (error: unknown): S3Error {
  if (error instanceof S3Error) return error
  if (error instanceof RingstackError && isS3ErrorCode(error.code)) {
    return new S3Error(error.code, error.message, { cause: error })
  }
  return new S3Error('InternalError', undefined, { cause: error })
}

/**
 * The body S3 sends with an error. There is no namespace on `<Error>`, unlike
 * success documents; SDKs parse either. HEAD and 304 responses carry no body,
 * which is the caller's concern.
 */
export function renderS3ErrorXml (error: S3Error, requestId: string, hostId?: string): string {
  const elements: Array<[string, string]> = [['Code', error.code], ['Message', error.message]]
  for (const [name, value] of Object.entries(error.details)) elements.push([name, value])
  if (error.resource !== undefined) elements.push(['Resource', error.resource])
  elements.push(['RequestId', requestId])
  if (hostId !== undefined) elements.push(['HostId', hostId])
  const body = elements.map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`).join('')
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${body}</Error>`
}
