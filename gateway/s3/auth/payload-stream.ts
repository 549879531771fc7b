import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { S3Error } from '../errors.ts'
import type { AuthContext } from './authenticate.ts'
import { AwsChunkedDecoder } from './aws-chunked.ts'
import {
  BodyDigests, checksumDisplayName, checksumHeader, isWellFormedChecksum, type ChecksumAlgorithm
} from './checksums.ts'
import {
  hasChunkSignatures, hasTrailer, headerValue, isChunked, parseChecksumRequest, parseContentMd5, parseLength,
  parsePayloadFraming, type ChecksumRequest, type PayloadFraming, type PayloadMode
} from './payload-headers.ts'

export interface PayloadStreamOptions {
  /** Checksums to compute on top of md5 and the one the client asked for (e.g. what the store keeps for every object). */
  compute?: readonly ChecksumAlgorithm[]
  /** Largest object accepted; larger declared or received bodies are EntityTooLarge. */
  maxBytes?: number
  /**
   * What x-amz-checksum-* request headers describe: this body (`body`, the
   * default: PutObject, UploadPart, DeleteObjects…) or the object being
   * assembled (`object`: CompleteMultipartUpload, whose XML body they do not
   * describe). Checksum trailers always describe the body.
   */
  headerChecksums?: 'body' | 'object'
}

export interface PayloadResult {
  /** Object bytes (decoded, without aws-chunked framing). */
  bytes: number
  /** The S3 ETag of a single-part object, without quotes. */
  md5Hex: string
  md5Base64: string
  /** Every checksum computed, base64 of the big-endian digest as S3 sends it. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>
  /** The checksum the client asked for, to store and return with the object. */
  checksum?: { algorithm: ChecksumAlgorithm, value: string, source: ChecksumRequest['source'] }
  /** What was checked against something the client sent. */
  verified: {
    contentSha256: boolean
    contentMd5: boolean
    /** Chunk signatures verified, the final empty chunk's included. */
    chunkSignatures: number
    trailerSignature: boolean
    checksum: boolean
  }
  /** Trailing headers of an aws-chunked body (lower-case names, signature removed). */
  trailers: Record<string, string>
}

export interface PayloadStream {
  mode: PayloadMode
  /** The object size the headers announce, when they do (x-amz-decoded-content-length or Content-Length). */
  expectedBytes: number | undefined
  checksumRequest: ChecksumRequest | undefined
  /**
   * The object bytes. It throws an S3Error for any failed check; the last
   * checks (lengths, digests, trailer) run before it finishes, so store the
   * bytes provisionally and commit only once iteration completes.
   */
  body: AsyncGenerator<Buffer, void, undefined>
  /** Available once `body` has been read to the end without error. */
  result (): PayloadResult
}

/**
 * Wraps a request body: removes aws-chunked framing, verifies chunk and
 * trailer signatures, the signed sha256, Content-Length,
 * x-amz-decoded-content-length, Content-MD5 and x-amz-checksum-* (header,
 * trailer or presigned query), and computes md5 plus the requested checksums
 * in one pass, never holding more than one network read.
 *
 * Header problems (malformed Content-MD5 or checksum values, conflicting
 * checksum headers, a declared size over `maxBytes`) throw here, before any
 * byte is read.
 */
export function createPayloadStream (
  source: AsyncIterable<Uint8Array>,
  auth: AuthContext | undefined,
  headers: IncomingHttpHeaders,
  options: PayloadStreamOptions = {}
): PayloadStream {
  const framing: PayloadFraming = auth ?? parsePayloadFraming(headers, headerValue(headers, 'x-amz-content-sha256')?.trim())
  if (auth === undefined && hasChunkSignatures(framing.payload)) {
    throw new S3Error('InvalidRequest', 'A signed aws-chunked body needs a signed request.')
  }
  const hoisted = auth?.hoistedHeaders ?? {}
  const lookup = (name: string): string | undefined => headerValue(headers, name) ?? hoisted[name]
  const checksumRequest = options.headerChecksums === 'object'
    ? parseChecksumRequest(() => undefined, [], framing.trailers)
    : parseChecksumRequest(lookup, new Set([...Object.keys(headers), ...Object.keys(hoisted)]), framing.trailers)
  const contentMd5 = parseContentMd5(headerValue(headers, 'content-md5'))
  const chunked = isChunked(framing.payload)
  const contentLength = parseLength(headers, 'content-length')
  const expectedBytes = chunked ? framing.decodedLength : contentLength
  const { maxBytes } = options
  if (maxBytes !== undefined && expectedBytes !== undefined && expectedBytes > maxBytes) throw new S3Error('EntityTooLarge')

  let result: PayloadResult | undefined

  async function * body (): AsyncGenerator<Buffer, void, undefined> {
    const algorithms = new Set(options.compute)
    if (checksumRequest !== undefined) algorithms.add(checksumRequest.algorithm)
    const digests = new BodyDigests(algorithms)
    const signedHash = framing.payload === 'sha256' ? createHash('sha256') : undefined
    const decoder = chunked
      ? new AwsChunkedDecoder({
        trailers: hasTrailer(framing.payload),
        signing: auth !== undefined && hasChunkSignatures(framing.payload)
          ? { signingKey: auth.signingKey, date: auth.date, scope: auth.scope, seedSignature: auth.seedSignature }
          : undefined
      })
      : undefined
    const limit = expectedBytes ?? Number.POSITIVE_INFINITY
    let bytes = 0

    for await (const read of readSource(source)) {
      const pieces = decoder === undefined ? [read] : decoder.push(read)
      for (const piece of pieces) {
        bytes += piece.length
        if (maxBytes !== undefined && bytes > maxBytes) throw new S3Error('EntityTooLarge')
        if (bytes > limit) {
          throw new S3Error('InvalidRequest', chunked
            ? 'The aws-chunked body is longer than x-amz-decoded-content-length.'
            : 'The body is longer than Content-Length.')
        }
        digests.update(piece)
        signedHash?.update(piece)
        yield piece
      }
    }

    const trailers = decoder?.finish(framing.trailers) ?? {}
    if (expectedBytes !== undefined && bytes < expectedBytes) {
      throw new S3Error('IncompleteBody', chunked
        ? 'The aws-chunked body carried fewer bytes than x-amz-decoded-content-length.'
        : undefined)
    }
    if (signedHash !== undefined) {
      const computed = signedHash.digest('hex')
      if (computed !== framing.contentSha256) {
        throw new S3Error('XAmzContentSHA256Mismatch', undefined, {
          details: { ClientComputedContentSHA256: framing.contentSha256 ?? '', S3ComputedContentSHA256: computed }
        })
      }
    }
    const { md5, checksums } = await digests.digest()
    const md5Base64 = md5.toString('base64')
    if (contentMd5 !== undefined && contentMd5 !== md5Base64) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
        details: { ExpectedDigest: Buffer.from(contentMd5, 'base64').toString('hex'), CalculatedDigest: md5.toString('hex') }
      })
    }
    const checksum = checkRequestedChecksum(checksumRequest, checksums, trailers)

    result = {
      bytes,
      md5Hex: md5.toString('hex'),
      md5Base64,
      checksums,
      verified: {
        contentSha256: signedHash !== undefined,
        contentMd5: contentMd5 !== undefined,
        chunkSignatures: auth !== undefined && hasChunkSignatures(framing.payload) ? decoder?.chunks ?? 0 : 0,
        trailerSignature: auth !== undefined && framing.payload === 'streaming-signed-trailer' && Object.keys(trailers).length > 0,
        checksum: checksum !== undefined && checksum.source !== 'computed'
      },
      trailers
    }
    if (checksum !== undefined) result.checksum = checksum
  }

  return {
    mode: framing.payload,
    expectedBytes,
    checksumRequest,
    body: body(),
    result () {
      if (result === undefined) throw new S3Error('InternalError', 'The payload result was read before the body was fully consumed.')
      return result
    }
  }
}

/** Buffers from the source; its own failures (client gone, socket reset) become IncompleteBody. */
async function * readSource (source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer, void, undefined> {
  const iterator = source[Symbol.asyncIterator]()
  try {
    while (true) {
      let next: IteratorResult<Uint8Array>
      try {
        next = await iterator.next()
      } catch (error) {
        throw error instanceof S3Error ? error : new S3Error('IncompleteBody', 'The request body could not be read to the end.', { cause: error })
      }
      if (next.done === true) return
      const chunk = next.value
      yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    }
  } finally {
    // Stop the source (e.g. destroy the request stream) when we stop early on an error.
    await iterator.return?.()
  }
}

function checkRequestedChecksum (
  request: ChecksumRequest | undefined,
  computed: Partial<Record<ChecksumAlgorithm, string>>,
  trailers: Record<string, string>
): PayloadResult['checksum'] {
  if (request === undefined) return undefined
  const { algorithm, source } = request
  const value = computed[algorithm]!
  let expected = request.expected
  if (source === 'trailer') {
    expected = trailers[checksumHeader(algorithm)]
    if (expected === undefined || !isWellFormedChecksum(algorithm, expected)) {
      throw new S3Error('InvalidRequest', `Value for ${checksumHeader(algorithm)} trailing header is invalid.`)
    }
  }
  if (expected !== undefined && expected !== value) {
    throw new S3Error('BadDigest', `The ${checksumDisplayName(algorithm)} you specified did not match the calculated checksum.`)
  }
  return { algorithm, value, source }
}
