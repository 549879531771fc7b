import { createHash } from 'node:crypto'
import { StorageError, stampToMillis, type Namespace, type ObjectInfo, type ObjectPath } from '../../storage/index.ts'
import { parseRanges, resolveRange } from '../http/range.ts'
import type { Segment } from '../http/segmented-body.ts'
import { SwiftError } from './errors.ts'
import { SLO_LIMITS } from './limits.ts'
import { listingTime } from './listing.ts'
import { DLO_KEY } from './metadata.ts'
import { splitContainerObject } from './target.ts'

/**
 * A Static Large Object is a manifest object whose body is the JSON list of
 * its segments (Swift's stored form: name `/container/object`, hash, bytes,
 * content_type, last_modified, optional range) and whose metadata carries
 * the assembled size and ETag; reads stream the segments in order.
 */
export const SLO_SIZE_KEY = 'slo-size'
export const SLO_ETAG_KEY = 'slo-etag'

export interface SloEntry {
  name: string
  hash: string
  bytes: number
  content_type: string
  last_modified: string
  range?: string
}

export function isSlo (info: ObjectInfo): boolean {
  return info.metadata[SLO_SIZE_KEY] !== undefined
}

/** Reads a manifest request body (bounded). */
export async function readBody (body: AsyncIterable<Buffer>, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = []
  let size = 0
  for await (const part of body) {
    size += part.length
    if (size > maxBytes) throw new SwiftError('TooLarge', `Manifest File > ${maxBytes} bytes`)
    parts.push(part)
  }
  return Buffer.concat(parts)
}

interface RequestedSegment {
  path: string
  etag?: string
  size?: number
  range?: string
}

/** The client's manifest (`[{path, etag, size_bytes, range}]`), or 400 saying what is wrong with it. */
function parseRequest (body: Buffer): RequestedSegment[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    throw new SwiftError('BadRequest', 'Manifest must be valid JSON.\n')
  }
  if (!Array.isArray(parsed)) throw new SwiftError('BadRequest', 'Manifest must be a list.\n')
  if (parsed.length === 0) throw new SwiftError('BadRequest', 'Manifest must have at least one segment.\n')
  if (parsed.length > SLO_LIMITS.max_manifest_segments) {
    throw new SwiftError('BadRequest', `Too many segments in manifest; max ${SLO_LIMITS.max_manifest_segments}.\n`)
  }
  const errors: string[] = []
  const segments = parsed.map((item: unknown, i): RequestedSegment => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      errors.push(`Index ${i}: not a JSON object`)
      return { path: '' }
    }
    const { path, etag, size_bytes: size, range, ...extra } = item as Record<string, unknown>
    if (Object.keys(extra).length > 0) errors.push(`Index ${i}: extraneous keys ${Object.keys(extra).map((k) => `"${k}"`).join(', ')}`)
    if (typeof path !== 'string' || !/^\/?[^/]+\/.+/.test(path)) errors.push(`Index ${i}: "path" must be a string of the form "container/object"`)
    if (etag !== undefined && etag !== null && typeof etag !== 'string') errors.push(`Index ${i}: "etag" must be a string or null`)
    if (size !== undefined && size !== null && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) errors.push(`Index ${i}: "size_bytes" must be an integer >= 0 or null`)
    if (range !== undefined && typeof range !== 'string') errors.push(`Index ${i}: "range" must be a string`)
    return {
      path: typeof path === 'string' ? path : '',
      etag: typeof etag === 'string' ? etag : undefined,
      size: typeof size === 'number' ? size : undefined,
      range: typeof range === 'string' ? range : undefined
    }
  })
  if (errors.length > 0) throw new SwiftError('BadRequest', `${errors.join('\n')}\n`)
  return segments
}

/**
 * Validates a manifest PUT against the segments as they are now (each must
 * exist, not be a large object itself, and match the ETag and size given),
 * answering 400 with Swift's "Errors:" list, and builds what is stored.
 */
export async function buildManifest (namespace: Namespace, account: string, manifestPath: ObjectPath, body: Buffer):
Promise<{ entries: SloEntry[], size: number, etag: string }> {
  const requested = parseRequest(body)
  const problems: string[] = []
  const entries = await Promise.all(requested.map(async (segment): Promise<SloEntry | undefined> => {
    const { container, object } = splitContainerObject(segment.path, 'path')
    const name = `/${container}/${object}`
    if (container === manifestPath.container && object === manifestPath.object) {
      problems.push(`${name}, Manifest cannot reference itself`)
      return undefined
    }
    let info: ObjectInfo
    try {
      info = await namespace.headObject({ account, container, object })
    } catch (err) {
      if (err instanceof StorageError && (err.code === 'NotFound' || err.code === 'NoSuchContainer')) {
        problems.push(`${name}, 404 Not Found`)
        return undefined
      }
      throw err
    }
    if (isSlo(info) || info.metadata[DLO_KEY] !== undefined) {
      problems.push(`${name}, Nested large objects are not supported`)
      return undefined
    }
    const etag = info.metadata.etag ?? ''
    if (segment.etag !== undefined && segment.etag.replace(/^"|"$/g, '') !== etag) problems.push(`${name}, Etag Mismatch`)
    if (segment.size !== undefined && segment.size !== info.size) problems.push(`${name}, Size Mismatch`)
    let range: string | undefined
    if (segment.range !== undefined) {
      const parsed = parseRanges(`bytes=${segment.range}`)
      const span = parsed?.length === 1 ? resolveRange(parsed[0]!, info.size) : undefined
      if (span === undefined) {
        problems.push(`${name}, Unsatisfiable Range`)
        return undefined
      }
      range = `${span.offset}-${span.offset + span.length - 1}`
    }
    if (info.size < SLO_LIMITS.min_segment_size) problems.push(`${name}, Too Small; each segment must be at least ${SLO_LIMITS.min_segment_size} byte`)
    return {
      name, hash: etag, bytes: info.size, content_type: info.metadata['content-type'] ?? '',
      last_modified: listingTime(new Date(stampToMillis(info.timestamp))), ...(range === undefined ? {} : { range })
    }
  }))
  if (problems.length > 0) throw new SwiftError('BadRequest', `Errors:\n${problems.join('\n')}\n`)
  const stored = entries as SloEntry[]
  const md5 = createHash('md5')
  for (const e of stored) md5.update(e.range === undefined ? e.hash : `${e.hash}:${e.range};`)
  return { entries: stored, size: stored.reduce((sum, e) => sum + entryLength(e), 0), etag: md5.digest('hex') }
}

function entryLength (entry: SloEntry): number {
  if (entry.range === undefined) return entry.bytes
  const [from, to] = entry.range.split('-').map(Number) as [number, number]
  return to - from + 1
}

/** The stored manifest of an SLO. */
export async function readSloManifest (namespace: Namespace, path: ObjectPath): Promise<{ info: ObjectInfo, entries: SloEntry[] }> {
  const read = await namespace.getObject(path)
  const body = await readBody(read.body, Number.MAX_SAFE_INTEGER)
  return { info: read.info, entries: JSON.parse(body.toString('utf8')) as SloEntry[] }
}

/** The manifest's entries as the segments to stream. */
export function sloSegments (account: string, entries: SloEntry[]): Segment[] {
  return entries.map((e) => {
    const { container, object } = splitContainerObject(e.name, 'name')
    const offset = e.range === undefined ? 0 : Number(e.range.split('-')[0])
    return { path: { account, container, object }, offset, length: entryLength(e) }
  })
}
