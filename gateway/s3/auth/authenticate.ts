import type { IncomingHttpHeaders } from 'node:http'
import { S3Error } from '../errors.ts'
import { canonicalRequest, parseQuery, type QueryParam } from './canonical.ts'
import { algorithmOfHeader } from './checksums.ts'
import type { CredentialStore } from './credentials.ts'
import { headerValue, parsePayloadFraming, type PayloadFraming } from './payload-headers.ts'
import {
  claimFromHeader, claimFromQuery, malformedClaim, PRESIGN_PARAMS, unsupportedMechanism, type SignatureClaim
} from './signature-claim.ts'
import { deriveSigningKey, requestStringToSign, signaturesMatch, signHex } from './sigv4.ts'

export interface S3Request {
  method: string
  /** Path and query exactly as received (`request.raw.url`), never re-serialised. */
  rawUrl: string
  headers: IncomingHttpHeaders
}

export interface AuthenticateOptions {
  credentials: CredentialStore
  /** The clock; injected so tests and replays are deterministic. */
  now?: () => Date
  /** When set, a scope naming another region is AuthorizationHeaderMalformed; when unset any region is accepted. */
  region?: string
  /** Allowed difference between the request time and `now`; S3 uses 15 minutes. */
  maxSkewMs?: number
}

export interface AuthContext extends PayloadFraming {
  accessKeyId: string
  principal: string
  region: string
  service: string
  /** The request timestamp as signed (`20130524T000000Z`); chunk and trailer signatures reuse it. */
  date: string
  requestTime: Date
  /** `20130524/us-east-1/s3/aws4_request`. */
  scope: string
  signingKey: Buffer
  /** The request signature, which the first chunk signature chains on. */
  seedSignature: string
  presigned: boolean
  signedHeaders: string[]
  /** When a presigned URL stops working. */
  expiresAt?: Date
  /**
   * `x-amz-*` parameters of a presigned URL other than the signature's own
   * (lower-case names): SDK presigners move headers such as
   * `x-amz-checksum-crc32` or `x-amz-meta-*` there, and S3 honours them.
   */
  hoistedHeaders: Record<string, string>
}

export const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000
const SERVICE = 's3'
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'

/**
 * x-amz-* headers that may be present without being signed: each only adds a
 * check on the body (or is the client's user agent), so an intermediary
 * adding one cannot change what gets stored. Any other unsigned x-amz-*
 * header is refused as S3 does, since x-amz-meta-*, x-amz-copy-source,
 * x-amz-acl and friends change the operation.
 */
function mayBeUnsigned (name: string): boolean {
  return name === 'x-amz-content-sha256' || name === 'x-amz-date' || name === 'x-amz-user-agent' ||
    name === 'x-amz-decoded-content-length' || name === 'x-amz-trailer' || name === 'x-amz-sdk-checksum-algorithm' ||
    algorithmOfHeader(name) !== undefined
}

const PRESIGN_PARAM_NAMES: ReadonlySet<string> = new Set(Object.values(PRESIGN_PARAMS).map((name) => name.toLowerCase()))

function splitUrl (requestTarget: string): { rawPath: string, query: QueryParam[] } {
  // HTTP/1.1 servers must accept the absolute form (`PUT http://host/b/k`), which clients sign as its path.
  const authority = /^https?:\/\/[^/?]*/i.exec(requestTarget)
  const rawUrl = authority === null ? requestTarget : requestTarget.slice(authority[0].length) || '/'
  const mark = rawUrl.indexOf('?')
  return mark < 0
    ? { rawPath: rawUrl, query: [] }
    : { rawPath: rawUrl.slice(0, mark), query: parseQuery(rawUrl.slice(mark + 1)) }
}

/**
 * Verifies a SigV4 request (Authorization header or presigned URL) and says
 * who made it. Returns undefined for an anonymous request, leaving the
 * decision (usually AccessDenied) to the caller. The body is not read: its
 * checks happen in createPayloadStream with the returned context.
 */
export async function authenticate (request: S3Request, options: AuthenticateOptions): Promise<AuthContext | undefined> {
  const { rawPath, query } = splitUrl(request.rawUrl)
  const authorization = headerValue(request.headers, 'authorization')
  const has = (name: string): boolean => query.some((p) => p.name === name)
  const presigned = has(PRESIGN_PARAMS.algorithm) || has(PRESIGN_PARAMS.credential) || has(PRESIGN_PARAMS.signature)

  if (authorization !== undefined && (presigned || has('Signature'))) {
    throw new S3Error('InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { details: { ArgumentName: 'Authorization', ArgumentValue: authorization } })
  }
  if (authorization === undefined && !presigned) {
    if (has('AWSAccessKeyId') || has('Signature')) throw unsupportedMechanism()
    return undefined
  }

  const claim = authorization !== undefined ? claimFromHeader(authorization, request.headers) : claimFromQuery(query)
  checkScope(claim, options.region)
  const now = options.now?.() ?? new Date()
  checkTime(claim, now, options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS)
  checkUnsignedHeaders(claim, request.headers)

  const contentSha256Header = headerValue(request.headers, 'x-amz-content-sha256')?.trim()
  let payloadHash: string
  if (claim.presigned) {
    // Presigners sign UNSIGNED-PAYLOAD (the JS one also hoists it into the query).
    payloadHash = query.find((p) => p.name === PRESIGN_PARAMS.contentSha256)?.value ?? UNSIGNED_PAYLOAD
  } else {
    if (contentSha256Header === undefined) {
      throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256')
    }
    payloadHash = contentSha256Header
  }
  // Validate the payload mode before spending a credential lookup on a request we cannot serve.
  const framing = parsePayloadFraming(request.headers, contentSha256Header ?? payloadHash)

  const credential = await options.credentials.lookup(claim.accessKeyId)
  if (credential === undefined) {
    throw new S3Error('InvalidAccessKeyId', undefined, { details: { AWSAccessKeyId: claim.accessKeyId } })
  }

  const scope = `${claim.scopeDate}/${claim.region}/${claim.service}/aws4_request`
  const canonical = canonicalRequest({
    method: request.method,
    rawPath,
    query,
    excludeParam: claim.presigned ? PRESIGN_PARAMS.signature : undefined,
    headers: request.headers,
    signedHeaders: claim.signedHeaders,
    payloadHash
  })
  const stringToSign = requestStringToSign(claim.amzDate, scope, canonical)
  const signingKey = deriveSigningKey(credential.secretAccessKey, claim.scopeDate, claim.region, claim.service)
  if (!signaturesMatch(signHex(signingKey, stringToSign), claim.signature)) {
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      details: {
        AWSAccessKeyId: claim.accessKeyId,
        StringToSign: stringToSign,
        SignatureProvided: claim.signature,
        CanonicalRequest: canonical
      }
    })
  }

  const context: AuthContext = {
    ...framing,
    accessKeyId: claim.accessKeyId,
    principal: credential.principal,
    region: claim.region,
    service: claim.service,
    date: claim.amzDate,
    requestTime: claim.requestTime,
    scope,
    signingKey,
    seedSignature: claim.signature,
    presigned: claim.presigned,
    signedHeaders: claim.signedHeaders,
    hoistedHeaders: claim.presigned ? hoistedHeaders(query) : {}
  }
  if (claim.expiresSeconds !== undefined) {
    context.expiresAt = new Date(claim.requestTime.getTime() + claim.expiresSeconds * 1000)
  }
  return context
}

function checkScope (claim: SignatureClaim, region: string | undefined): void {
  if (region !== undefined && claim.region !== region) {
    throw malformedClaim(claim.presigned, `the region '${claim.region}' is wrong; expecting '${region}'`, { Region: region })
  }
  if (claim.service !== SERVICE) {
    throw malformedClaim(claim.presigned, `incorrect service "${claim.service}". This endpoint belongs to "${SERVICE}".`)
  }
}

function checkTime (claim: SignatureClaim, now: Date, maxSkewMs: number): void {
  const requestMs = claim.requestTime.getTime()
  const serverTime = now.toISOString()
  if (claim.presigned) {
    if (requestMs - now.getTime() > maxSkewMs) {
      throw new S3Error('AccessDenied', 'Request is not valid yet', { details: { 'X-Amz-Date': claim.amzDate, ServerTime: serverTime } })
    }
    const expiresMs = requestMs + (claim.expiresSeconds ?? 0) * 1000
    if (now.getTime() > expiresMs) {
      throw new S3Error('AccessDenied', 'Request has expired', {
        details: { 'X-Amz-Expires': String(claim.expiresSeconds), Expires: new Date(expiresMs).toISOString(), ServerTime: serverTime }
      })
    }
    return
  }
  if (Math.abs(requestMs - now.getTime()) > maxSkewMs) {
    throw new S3Error('RequestTimeTooSkewed', undefined, {
      details: { RequestTime: claim.rawDate, ServerTime: serverTime, MaxAllowedSkewMilliseconds: String(maxSkewMs) }
    })
  }
}

function checkUnsignedHeaders (claim: SignatureClaim, headers: IncomingHttpHeaders): void {
  const signed = new Set(claim.signedHeaders)
  const unsigned = Object.keys(headers).filter((name) => name.startsWith('x-amz-') && !signed.has(name) && !mayBeUnsigned(name))
  if (unsigned.length > 0) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
      details: { HeadersNotSigned: unsigned.sort().join(', ') }
    })
  }
}

function hoistedHeaders (query: readonly QueryParam[]): Record<string, string> {
  const hoisted: Record<string, string> = {}
  for (const { name, value } of query) {
    const lower = name.toLowerCase()
    if (lower.startsWith('x-amz-') && !PRESIGN_PARAM_NAMES.has(lower) && hoisted[lower] === undefined) hoisted[lower] = value
  }
  return hoisted
}
