import type { IncomingHttpHeaders } from 'node:http'
import { stampToMillis } from '../../storage/index.ts'
import {
  CONTENT_HEADERS, contentHeadersOf, isUserMetadataKey, singleHeader, userMetadataFromHeaders, userMetadataHeaders
} from '../http/stored-metadata.ts'
import { SwiftError } from './errors.ts'
import { LIMITS } from './limits.ts'

/**
 * Swift's headers over the neutral stored keys (gateway/http/stored-metadata.ts):
 * X-Object-Meta-<name> / X-Container-Meta-<name> / X-Account-Meta-<name>
 * are `meta-<name>` (what S3 calls x-amz-meta-<name>), content headers keep
 * their names, and Swift's own object keys are below.
 */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'
/** Unix seconds after which the object is gone (X-Delete-At). */
export const DELETE_AT_KEY = 'delete-at'
/** A Dynamic Large Object's `<container>/<prefix>` (X-Object-Manifest, URL-encoded as sent). */
export const DLO_KEY = 'dlo-manifest'

export type MetadataScope = 'object' | 'container' | 'account'

function checkUserMetadata (metadata: Record<string, string>): void {
  let count = 0
  let bytes = 0
  for (const [key, value] of Object.entries(metadata)) {
    if (!isUserMetadataKey(key)) continue
    const name = key.slice('meta-'.length)
    if (name === '') throw new SwiftError('BadRequest', 'Metadata name cannot be empty')
    if (Buffer.byteLength(name) > LIMITS.max_meta_name_length) throw new SwiftError('BadRequest', `Metadata name too long: ${name}`)
    if (Buffer.byteLength(value) > LIMITS.max_meta_value_length) throw new SwiftError('BadRequest', `Metadata value longer than ${LIMITS.max_meta_value_length}: ${name}`)
    count++
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value)
  }
  if (count > LIMITS.max_meta_count) throw new SwiftError('BadRequest', `Too many metadata items; max ${LIMITS.max_meta_count}`)
  if (bytes > LIMITS.max_meta_overall_size) throw new SwiftError('BadRequest', `Total metadata too large; max ${LIMITS.max_meta_overall_size}`)
}

/**
 * `stored` with the request's X-<Scope>-Meta-* applied as Swift's POST
 * applies them to containers and accounts: a header sets its key, an empty
 * value or X-Remove-<Scope>-Meta-<name> removes it, the rest stay.
 */
export function updatedMetadata (stored: Record<string, string>, headers: IncomingHttpHeaders, scope: MetadataScope): Record<string, string> {
  const prefix = `x-${scope}-meta-`
  const remove = `x-remove-${scope}-meta-`
  const out = { ...stored }
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(remove)) delete out[`meta-${name.slice(remove.length)}`]
  }
  for (const [key, value] of Object.entries(userMetadataFromHeaders(headers, prefix).metadata)) {
    if (value === '') delete out[key]
    else out[key] = value
  }
  checkUserMetadata(out)
  return out
}

/**
 * Metadata for an object PUT (or the POST that replaces it): content
 * headers, X-Object-Meta-* (all of it: a PUT or POST replaces user metadata
 * as a whole), X-Delete-At / X-Delete-After, X-Object-Manifest.
 */
export function objectMetadataFromHeaders (headers: IncomingHttpHeaders, nowMs: number): Record<string, string> {
  const metadata: Record<string, string> = {}
  for (const name of CONTENT_HEADERS) {
    const value = singleHeader(headers[name])
    if (value !== undefined && value !== '') metadata[name] = value
  }
  metadata['content-type'] ??= DEFAULT_CONTENT_TYPE
  for (const [key, value] of Object.entries(userMetadataFromHeaders(headers, 'x-object-meta-').metadata)) {
    if (value !== '') metadata[key] = value
  }
  checkUserMetadata(metadata)
  const deleteAt = deleteAtOf(headers, nowMs)
  if (deleteAt !== undefined) metadata[DELETE_AT_KEY] = String(deleteAt)
  const manifest = singleHeader(headers['x-object-manifest'])
  if (manifest !== undefined) {
    const decoded = decodeManifestHeader(manifest)
    if (!/^[^/]+\/.*$/.test(decoded) || decoded.startsWith('/')) throw new SwiftError('BadRequest', 'X-Object-Manifest must be in the format container/prefix')
    metadata[DLO_KEY] = manifest
  }
  return metadata
}

export function decodeManifestHeader (value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    throw new SwiftError('BadRequest', 'X-Object-Manifest must be URL-encoded UTF-8')
  }
}

/** X-Delete-At (Unix seconds) or X-Delete-After (seconds from now), which must lie in the future; undefined when neither is sent. */
function deleteAtOf (headers: IncomingHttpHeaders, nowMs: number): number | undefined {
  const at = singleHeader(headers['x-delete-at'])
  const after = singleHeader(headers['x-delete-after'])
  if (after !== undefined) {
    if (!/^\d+$/.test(after.trim())) throw new SwiftError('BadRequest', 'Non-integer X-Delete-After')
    const seconds = Number(after.trim())
    if (seconds <= 0) throw new SwiftError('BadRequest', 'X-Delete-After in past')
    return Math.floor(nowMs / 1000) + seconds
  }
  if (at === undefined) return undefined
  if (!/^\d+(\.\d+)?$/.test(at.trim())) throw new SwiftError('BadRequest', 'Non-integer X-Delete-At')
  const when = Math.floor(Number(at.trim()))
  if (when * 1000 <= nowMs) throw new SwiftError('BadRequest', 'X-Delete-At in past')
  return when
}

/** Whether an object's X-Delete-At has passed: it is then gone for every request, before the reaper removes it. */
export function isExpired (metadata: Record<string, string>, nowMs: number): boolean {
  const at = metadata[DELETE_AT_KEY]
  return at !== undefined && Number(at) * 1000 <= nowMs
}

/** Swift's X-Timestamp form of an HLC stamp: seconds with five decimals. */
export function xTimestamp (timestamp: bigint): string {
  return (stampToMillis(timestamp) / 1000).toFixed(5)
}

/** User metadata of a container or account as its X-<Scope>-Meta-* response headers. */
export function scopeMetadataHeaders (metadata: Record<string, string>, scope: MetadataScope): Record<string, string> {
  return userMetadataHeaders(metadata, `x-${scope}-meta-`)
}

/** An object's stored metadata as Swift's response headers (ETag, size and dates are the caller's). */
export function objectHeaders (metadata: Record<string, string>): Record<string, string> {
  const headers = { ...contentHeadersOf(metadata), ...userMetadataHeaders(metadata, 'x-object-meta-') }
  if (metadata[DELETE_AT_KEY] !== undefined) headers['x-delete-at'] = metadata[DELETE_AT_KEY]
  if (metadata[DLO_KEY] !== undefined) headers['x-object-manifest'] = metadata[DLO_KEY]
  return headers
}
