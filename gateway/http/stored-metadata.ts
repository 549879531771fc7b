import type { IncomingHttpHeaders } from 'node:http'

/**
 * Stored object metadata uses neutral keys that S3 and Swift both map to
 * their own headers, so an object written through one API reads back
 * through the other: the standard content headers by name, `etag` (hex MD5
 * of the bytes), `meta-<name>` (lowercase) for user metadata, which S3 sends
 * as `x-amz-meta-<name>` and Swift as `X-Object-Meta-<name>`, and
 * `checksum-<algorithm>` (base64).
 */
export const CONTENT_HEADERS = ['content-type', 'cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'] as const

const USER_KEY = 'meta-'

export function isUserMetadataKey (key: string): boolean {
  return key.startsWith(USER_KEY)
}

export function singleHeader (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value
}

/** The request's `<prefix><name>` headers as stored user metadata, with their size (names plus values, UTF-8). */
export function userMetadataFromHeaders (headers: IncomingHttpHeaders, prefix: string): { metadata: Record<string, string>, bytes: number } {
  const metadata: Record<string, string> = {}
  let bytes = 0
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(prefix) || value === undefined) continue
    const text = singleHeader(value)!
    const key = name.slice(prefix.length)
    bytes += Buffer.byteLength(key) + Buffer.byteLength(text)
    metadata[`${USER_KEY}${key}`] = text
  }
  return { metadata, bytes }
}

/** Stored user metadata as `<prefix><name>` response headers. */
export function userMetadataHeaders (metadata: Record<string, string>, prefix: string): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [key, value] of Object.entries(metadata)) {
    if (isUserMetadataKey(key)) headers[`${prefix}${key.slice(USER_KEY.length)}`] = value
  }
  return headers
}

/** The stored content headers (Content-Type, Content-Disposition, ...) as response headers. */
export function contentHeadersOf (metadata: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of CONTENT_HEADERS) {
    const value = metadata[name]
    if (value !== undefined) headers[name] = value
  }
  return headers
}

/** What a copy carries over: content headers and user metadata. */
export function copiedMetadata (stored: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(stored)) {
    if ((CONTENT_HEADERS as readonly string[]).includes(key) || isUserMetadataKey(key)) out[key] = value
  }
  return out
}
