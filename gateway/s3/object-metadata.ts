import type { IncomingHttpHeaders } from 'node:http'
import { CHECKSUM_ALGORITHMS, storedContentEncoding } from './auth/index.ts'
import { S3Error } from './errors.ts'
import { CONTENT_HEADERS, contentHeadersOf, singleHeader as single, userMetadataFromHeaders, userMetadataHeaders } from '../http/stored-metadata.ts'

export { copiedMetadata } from '../http/stored-metadata.ts'

/** S3's names for the neutral stored keys (gateway/http/stored-metadata.ts). */
const USER_PREFIX = 'x-amz-meta-'
/** S3 limits user-defined metadata to 2 KB (names plus values, UTF-8). */
const MAX_USER_METADATA = 2048
export const DEFAULT_CONTENT_TYPE = 'binary/octet-stream'

/** Metadata to store from a PUT / copy-with-REPLACE / CreateMultipartUpload request. */
export function metadataFromHeaders (headers: IncomingHttpHeaders): Record<string, string> {
  const metadata: Record<string, string> = { 'content-type': single(headers['content-type']) ?? DEFAULT_CONTENT_TYPE }
  for (const name of CONTENT_HEADERS) {
    const value = name === 'content-encoding' ? storedContentEncoding(headers) : single(headers[name])
    if (value !== undefined && value !== '') metadata[name] = value
  }
  const user = userMetadataFromHeaders(headers, USER_PREFIX)
  Object.assign(metadata, user.metadata)
  const userBytes = user.bytes
  if (userBytes > MAX_USER_METADATA) throw new S3Error('MetadataTooLarge', undefined, { details: { Size: String(userBytes), MaxSizeAllowed: String(MAX_USER_METADATA) } })
  const storageClass = single(headers['x-amz-storage-class'])
  if (storageClass !== undefined && !['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'OUTPOSTS', 'EXPRESS_ONEZONE'].includes(storageClass)) {
    throw new S3Error('InvalidStorageClass')
  }
  return metadata
}

/** Response headers for GET/HEAD from stored metadata. */
export function headersFromMetadata (metadata: Record<string, string>, checksumMode: boolean): Record<string, string> {
  const headers = { ...contentHeadersOf(metadata), ...userMetadataHeaders(metadata, USER_PREFIX) }
  if (checksumMode) {
    for (const algorithm of CHECKSUM_ALGORITHMS) {
      const value = metadata[`checksum-${algorithm}`]
      if (value !== undefined) headers[`x-amz-checksum-${algorithm}`] = value
    }
    if (metadata['checksum-type'] !== undefined) headers['x-amz-checksum-type'] = metadata['checksum-type']
  }
  return headers
}

/** The quoted ETag S3 sends, from the stored hex form. */
export function quotedEtag (metadata: Record<string, string>): string {
  return `"${metadata.etag ?? ''}"`
}
