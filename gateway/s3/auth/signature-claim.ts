import type { IncomingHttpHeaders } from 'node:http'
import { S3Error, type S3ErrorCode } from '../errors.ts'
import type { QueryParam } from './canonical.ts'
import { headerValue } from './payload-headers.ts'
import { ALGORITHM, formatAmzDate, parseAmzDate, SCOPE_TERMINATOR } from './sigv4.ts'

/**
 * What a SigV4 request claims about itself, read from either the
 * Authorization header or presigned-URL query parameters, before anything is
 * verified. Malformed input fails here with the error S3 gives for that
 * mechanism (AuthorizationHeaderMalformed vs AuthorizationQueryParametersError).
 */
export interface SignatureClaim {
  presigned: boolean
  accessKeyId: string
  /** Credential scope parts: `20130524/us-east-1/s3/aws4_request`. */
  scopeDate: string
  region: string
  service: string
  signedHeaders: string[]
  signature: string
  /** The timestamp that goes into the string to sign. */
  amzDate: string
  requestTime: Date
  /** As the client sent it, for RequestTimeTooSkewed. */
  rawDate: string
  /** X-Amz-Expires of a presigned URL, in seconds. */
  expiresSeconds?: number
}

export const PRESIGN_PARAMS = {
  algorithm: 'X-Amz-Algorithm',
  credential: 'X-Amz-Credential',
  date: 'X-Amz-Date',
  expires: 'X-Amz-Expires',
  signedHeaders: 'X-Amz-SignedHeaders',
  signature: 'X-Amz-Signature',
  contentSha256: 'X-Amz-Content-Sha256'
} as const

export const MAX_PRESIGN_EXPIRES_SECONDS = 7 * 24 * 60 * 60

const UNSUPPORTED_MECHANISM = 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256. (Signature Version 2 and SigV4a are not supported.)'

export function unsupportedMechanism (): S3Error {
  return new S3Error('InvalidRequest', UNSUPPORTED_MECHANISM)
}

/** The error S3 gives for a bad credential or header list, which depends on where the signature was. */
export function malformedClaim (presigned: boolean, detail: string, details?: Record<string, string>): S3Error {
  const code: S3ErrorCode = presigned ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed'
  const prefix = presigned ? 'Error parsing the X-Amz-Credential parameter; ' : 'The authorization header is malformed; '
  return new S3Error(code, prefix + detail, details === undefined ? {} : { details })
}

class ClaimReader {
  constructor (readonly presigned: boolean) {}

  malformed (detail: string): S3Error {
    return malformedClaim(this.presigned, detail)
  }

  credential (value: string): Pick<SignatureClaim, 'accessKeyId' | 'scopeDate' | 'region' | 'service'> {
    const parts = value.split('/')
    // Access key ids cannot contain '/', but the scope is always the last four parts.
    const scope = parts.slice(-4)
    const accessKeyId = parts.slice(0, -4).join('/')
    const [scopeDate, region, service, terminator] = scope
    if (parts.length < 5 || accessKeyId === '' || scopeDate === undefined || !/^\d{8}$/.test(scopeDate) ||
      region === undefined || region === '' || service === undefined || terminator === undefined) {
      throw this.malformed('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".')
    }
    if (terminator !== SCOPE_TERMINATOR) {
      throw this.malformed(`incorrect terminal "${terminator}". This endpoint uses "${SCOPE_TERMINATOR}".`)
    }
    return { accessKeyId, scopeDate, region, service }
  }

  signedHeaders (value: string): string[] {
    const names = value.split(';')
    if (names.some((name) => name === '' || name !== name.toLowerCase())) {
      throw this.malformed('SignedHeaders must be a semicolon-separated list of lower-case header names.')
    }
    if (!names.includes('host')) throw this.malformed('SignedHeaders must include host.')
    return names
  }
}

function invalidDate (): S3Error {
  return new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header')
}

/** Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. */
export function claimFromHeader (authorization: string, headers: IncomingHttpHeaders): SignatureClaim {
  const reader = new ClaimReader(false)
  const space = authorization.indexOf(' ')
  const algorithm = space < 0 ? authorization : authorization.slice(0, space)
  if (algorithm !== ALGORITHM) throw unsupportedMechanism()

  const fields = new Map<string, string>()
  for (const part of authorization.slice(space + 1).split(',')) {
    const trimmed = part.trim()
    const eq = trimmed.indexOf('=')
    if (trimmed === '') continue
    if (eq < 0) throw reader.malformed(`the authorization component "${trimmed}" is malformed.`)
    fields.set(trimmed.slice(0, eq).trim(), trimmed.slice(eq + 1).trim())
  }
  const credential = fields.get('Credential')
  const signedHeaders = fields.get('SignedHeaders')
  const signature = fields.get('Signature')
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw reader.malformed('the authorization header requires three components: Credential, SignedHeaders, and Signature.')
  }

  const amzDateHeader = headerValue(headers, 'x-amz-date')
  const dateHeader = headerValue(headers, 'date')
  let requestTime: Date | undefined
  let rawDate: string
  if (amzDateHeader !== undefined) {
    rawDate = amzDateHeader.trim()
    requestTime = parseAmzDate(rawDate)
  } else if (dateHeader !== undefined) {
    rawDate = dateHeader.trim()
    const parsed = Date.parse(rawDate)
    requestTime = Number.isNaN(parsed) ? undefined : new Date(parsed)
  } else {
    throw invalidDate()
  }
  if (requestTime === undefined) throw invalidDate()
  const amzDate = formatAmzDate(requestTime)

  const scope = reader.credential(credential)
  if (scope.scopeDate !== amzDate.slice(0, 8)) {
    throw reader.malformed('Invalid credential date. Date is not the same as X-Amz-Date.')
  }
  return {
    presigned: false,
    ...scope,
    signedHeaders: reader.signedHeaders(signedHeaders),
    signature,
    amzDate,
    requestTime,
    rawDate
  }
}

/** Parses the X-Amz-* parameters of a presigned URL. */
export function claimFromQuery (params: readonly QueryParam[]): SignatureClaim {
  const reader = new ClaimReader(true)
  const get = (name: string): string | undefined => params.find((p) => p.name === name)?.value
  const algorithm = get(PRESIGN_PARAMS.algorithm)
  const credential = get(PRESIGN_PARAMS.credential)
  const date = get(PRESIGN_PARAMS.date)
  const expires = get(PRESIGN_PARAMS.expires)
  const signedHeaders = get(PRESIGN_PARAMS.signedHeaders)
  const signature = get(PRESIGN_PARAMS.signature)
  if (algorithm !== undefined && algorithm !== ALGORITHM) {
    throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
  }
  if (algorithm === undefined || credential === undefined || date === undefined || expires === undefined ||
    signedHeaders === undefined || signature === undefined) {
    throw new S3Error('AuthorizationQueryParametersError',
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.')
  }
  const requestTime = parseAmzDate(date)
  if (requestTime === undefined) {
    throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"')
  }
  if (!/^\d+$/.test(expires)) {
    throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Expires should be a number')
  }
  const expiresSeconds = Number(expires)
  if (expiresSeconds < 1) {
    throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Expires must be at least 1 second')
  }
  if (expiresSeconds > MAX_PRESIGN_EXPIRES_SECONDS) {
    throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Expires must be less than a week (in seconds) that is 604800')
  }
  const scope = reader.credential(credential)
  if (scope.scopeDate !== date.slice(0, 8)) {
    throw reader.malformed('Invalid credential date. Date is not the same as X-Amz-Date.')
  }
  return {
    presigned: true,
    ...scope,
    signedHeaders: reader.signedHeaders(signedHeaders),
    signature,
    amzDate: date,
    requestTime,
    rawDate: date,
    expiresSeconds
  }
}
