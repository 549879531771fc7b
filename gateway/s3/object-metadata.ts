import type { IncomingHttpHeaders } from 'node:http'
import { CHECKSUM_ALGORITHMS, storedContentEncoding } from './auth/index.ts'
import { S3Error } from './errors.ts'

/**
 * Stored object metadata uses neutral keys that S3 and Swift both map to
 * their own headers: the standard content headers by name, `etag` (hex),
 * `meta-<name>` for user metadata, `checksum-<algorithm>` (base64).
 */
const CONTENT_HEADERS = ['content-type', 'cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'] as const
const USER_PREFIX = 'x-amz-meta-'
/** S3 limits user-defined metadata to 2 KB (names plus values, UTF-8). */
const MAX_USER_METADATA = 2048
export const DEFAULT_CONTENT_TYPE = 'binary/octet-stream'

function single (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value
}

/** Metadata to store from a PUT / copy-with-REPLACE / CreateMultipartUpload request. */
export function metadataFromHeaders (headers: IncomingHttpHeaders): Record<string, string> {
  const metadata: Record<string, string> = { 'content-type': single(headers['content-type']) ?? DEFAULT_CONTENT_TYPE }
  for (const name of CONTENT_HEADERS) {
    const value = name === 'content-encoding' ? storedContentEncoding(headers) : single(headers[name])
    if (value !== undefined && value !== '') metadata[name] = value
  }
  let userBytes = 0
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(USER_PREFIX) || value === undefined) continue
    const text = single(value)!
    userBytes += Buffer.byteLength(name.slice(USER_PREFIX.length)) + Buffer.byteLength(text)
    metadata[`meta-${name.slice(USER_PREFIX.length)}`] = text
  }
  if (userBytes > MAX_USER_METADATA) throw new S3Error('MetadataTooLarge', undefined, { details: { Size: String(userBytes), MaxSizeAllowed: String(MAX_USER_METADATA) } })
  const storageClass = single(headers['x-amz-storage-class'])
  if (storageClass !== undefined && !['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'OUTPOSTS', 'EXPRESS_ONEZONE'].includes(storageClass)) {
    throw new S3Error('InvalidStorageClass')
  }
  return metadata
}

/** The stored metadata that a copy with the COPY directive carries over. */
export function copiedMetadata (stored: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(stored)) {
    if ((CONTENT_HEADERS as readonly string[]).includes(key) || key.startsWith('meta-')) out[key] = value
  }
  return out
}

/** Response headers for GET/HEAD from stored metadata. */
export function headersFromMetadata (metadata: Record<string, string>, checksumMode: boolean): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of CONTENT_HEADERS) {
    const value = metadata[name]
    if (value !== undefined) headers[name] = value
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (key.startsWith('meta-')) headers[`${USER_PREFIX}${key.slice(5)}`] = value
  }
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
