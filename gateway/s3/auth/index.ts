/**
 * S3 request authentication (SigV4 header and presigned URL) and body
 * integrity (aws-chunked decoding, chunk/trailer signatures, signed sha256,
 * Content-MD5, x-amz-checksum-*). A handler does:
 *
 *     const auth = await authenticate({ method, rawUrl, headers }, { credentials, region })
 *     if (auth === undefined) throw new S3Error('AccessDenied')        // unless the bucket allows anonymous access
 *     const payload = createPayloadStream(request.raw, auth, headers)  // header checks throw here
 *     await store(payload.body)                                         // throws S3Error on any failed check: do not commit
 *     const { md5Hex, checksum, bytes } = payload.result()              // ETag, checksum to keep and return
 *
 * `payload.expectedBytes` is the announced object size (undefined: answer
 * MissingContentLength where S3 needs one). For CompleteMultipartUpload pass
 * `{ headerChecksums: 'object' }`: its x-amz-checksum-* headers describe the
 * assembled object, not the XML body.
 */
export { authenticate, DEFAULT_MAX_SKEW_MS } from './authenticate.ts'
export type { AuthContext, AuthenticateOptions, S3Request } from './authenticate.ts'
export { MemoryCredentialStore } from './credentials.ts'
export type { Credential, CredentialStore } from './credentials.ts'
export { createPayloadStream } from './payload-stream.ts'
export type { PayloadResult, PayloadStream, PayloadStreamOptions } from './payload-stream.ts'
export { storedContentEncoding } from './payload-headers.ts'
export type { ChecksumRequest, PayloadMode } from './payload-headers.ts'
export {
  CHECKSUM_ALGORITHMS, checksumHeader, checksumOf, parseChecksumAlgorithm, BodyDigests
} from './checksums.ts'
export type { ChecksumAlgorithm } from './checksums.ts'
export { canonicalPath, parseQuery, uriEncode } from './canonical.ts'
export type { QueryParam } from './canonical.ts'
