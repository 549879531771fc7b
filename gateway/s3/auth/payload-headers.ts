import type { IncomingHttpHeaders } from 'node:http'
import { S3Error } from '../errors.ts'
import {
  algorithmOfHeader, checksumDisplayName, checksumHeader, isCanonicalBase64, isWellFormedChecksum,
  parseChecksumAlgorithm, type ChecksumAlgorithm
} from './checksums.ts'

/**
 * What the request headers say about its body: how it is framed and signed
 * (`x-amz-content-sha256`), how long it is, and which checksums the client
 * wants checked.
 */

/**
 * - `sha256`: plain body whose sha256 the client signed.
 * - `unsigned`: plain body, `UNSIGNED-PAYLOAD` (or an anonymous request).
 * - `streaming-signed`: aws-chunked, every chunk signed.
 * - `streaming-unsigned-trailer`: aws-chunked, no chunk signatures, trailer headers.
 * - `streaming-signed-trailer`: aws-chunked, chunk signatures and a signed trailer.
 */
export type PayloadMode = 'sha256' | 'unsigned' | 'streaming-signed' | 'streaming-unsigned-trailer' | 'streaming-signed-trailer'

const MODE_OF: Record<string, PayloadMode> = {
  'UNSIGNED-PAYLOAD': 'unsigned',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD': 'streaming-signed',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER': 'streaming-unsigned-trailer',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER': 'streaming-signed-trailer'
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/

export function isChunked (mode: PayloadMode): boolean {
  return mode.startsWith('streaming-')
}

export function hasChunkSignatures (mode: PayloadMode): boolean {
  return mode === 'streaming-signed' || mode === 'streaming-signed-trailer'
}

export function hasTrailer (mode: PayloadMode): boolean {
  return mode.endsWith('-trailer')
}

export function headerValue (headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(',') : value
}

export function parsePayloadMode (contentSha256: string): PayloadMode {
  const mode = MODE_OF[contentSha256]
  if (mode !== undefined) return mode
  if (SHA256_HEX.test(contentSha256)) return 'sha256'
  throw new S3Error('InvalidArgument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
    { details: { ArgumentName: 'x-amz-content-sha256', ArgumentValue: contentSha256 } })
}

/** A decimal byte count header, or undefined when absent. */
export function parseLength (headers: IncomingHttpHeaders, name: string): number | undefined {
  const value = headerValue(headers, name)
  if (value === undefined) return undefined
  const trimmed = value.trim()
  const length = Number(trimmed)
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(length)) {
    throw new S3Error('InvalidArgument', `Invalid value for ${name}.`, { details: { ArgumentName: name, ArgumentValue: value } })
  }
  return length
}

/** The lower-case trailer names from `x-amz-trailer`. */
export function parseTrailerNames (headers: IncomingHttpHeaders): string[] {
  const value = headerValue(headers, 'x-amz-trailer')
  if (value === undefined) return []
  return value.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '')
}

/** The framing and signing facts of a body; AuthContext carries the same ones for signed requests. */
export interface PayloadFraming {
  payload: PayloadMode
  /** The signed hex sha256 of the body, in `sha256` mode. */
  contentSha256?: string
  /** Declared `x-amz-trailer` names. */
  trailers: string[]
  /** `x-amz-decoded-content-length`: the object size of an aws-chunked body. */
  decodedLength?: number
}

export function parsePayloadFraming (headers: IncomingHttpHeaders, contentSha256: string | undefined): PayloadFraming {
  const payload = contentSha256 === undefined ? 'unsigned' : parsePayloadMode(contentSha256)
  const trailers = parseTrailerNames(headers)
  if (trailers.length > 0 && !hasTrailer(payload)) {
    throw new S3Error('InvalidRequest', 'x-amz-trailer requires a STREAMING-UNSIGNED-PAYLOAD-TRAILER or STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER x-amz-content-sha256.')
  }
  const framing: PayloadFraming = { payload, trailers }
  if (payload === 'sha256' && contentSha256 !== undefined) framing.contentSha256 = contentSha256.toLowerCase()
  const decodedLength = isChunked(payload) ? parseLength(headers, 'x-amz-decoded-content-length') : undefined
  if (decodedLength !== undefined) framing.decodedLength = decodedLength
  return framing
}

/** The checksum the client asked S3 to verify and store: at most one per request. */
export interface ChecksumRequest {
  algorithm: ChecksumAlgorithm
  /** Where the client's value is: a header (known now), the trailer (known at the end), or nowhere (S3 computes it). */
  source: 'header' | 'trailer' | 'computed'
  /** The client's base64 value when `source` is `header`. */
  expected?: string
}

/**
 * Reads `x-amz-checksum-<alg>`, checksum trailers and `x-amz-sdk-checksum-algorithm`.
 * `lookup` sees the request headers merged with presigned-URL query parameters.
 */
export function parseChecksumRequest (lookup: (name: string) => string | undefined, headerNames: Iterable<string>, trailers: readonly string[]): ChecksumRequest | undefined {
  const found: ChecksumRequest[] = []
  for (const name of headerNames) {
    const algorithm = algorithmOfHeader(name)
    if (algorithm === undefined) continue
    const expected = (lookup(name) ?? '').trim()
    if (!isWellFormedChecksum(algorithm, expected)) {
      throw new S3Error('InvalidRequest', `Value for ${checksumHeader(algorithm)} header is invalid.`)
    }
    found.push({ algorithm, source: 'header', expected })
  }
  for (const name of trailers) {
    const algorithm = algorithmOfHeader(name)
    if (algorithm !== undefined) found.push({ algorithm, source: 'trailer' })
  }
  if (found.length > 1) {
    throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.')
  }
  const sdkAlgorithm = lookup('x-amz-sdk-checksum-algorithm')
  if (sdkAlgorithm === undefined) return found[0]
  const algorithm = parseChecksumAlgorithm(sdkAlgorithm.trim())
  if (algorithm === undefined) throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.')
  const [declared] = found
  if (declared === undefined) return { algorithm, source: 'computed' }
  if (declared.algorithm !== algorithm) {
    throw new S3Error('InvalidRequest', `Value for x-amz-sdk-checksum-algorithm header is invalid: it names ${checksumDisplayName(algorithm)} but the checksum sent is ${checksumDisplayName(declared.algorithm)}.`)
  }
  return declared
}

/** The base64 Content-MD5 value, or undefined; malformed values are InvalidDigest as in S3. */
export function parseContentMd5 (value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (!isCanonicalBase64(trimmed, 16)) throw new S3Error('InvalidDigest')
  return trimmed
}

/**
 * The Content-Encoding to store with the object: `aws-chunked` only describes
 * the upload framing and S3 drops it, keeping any other codings (`gzip`).
 */
export function storedContentEncoding (headers: IncomingHttpHeaders): string | undefined {
  const value = headerValue(headers, 'content-encoding')
  if (value === undefined) return undefined
  const kept = value.split(',').map((coding) => coding.trim()).filter((coding) => coding !== '' && coding.toLowerCase() !== 'aws-chunked')
  return kept.length === 0 ? undefined : kept.join(',')
}
