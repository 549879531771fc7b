import { randomBytes } from 'node:crypto'
import type { Namespace, ObjectInfo, ObjectPath } from '../../storage/index.ts'
import { contentRangeOf, parseRanges, resolveRange } from '../http/range.ts'
import { segmentedBody, type Segment } from '../http/segmented-body.ts'
import { isManifest as isMultipart, manifestSegments, manifestSize } from '../s3/multipart-manifest.ts'
import { dloSegments } from './dlo.ts'
import { SwiftError } from './errors.ts'
import { DLO_KEY, isExpired } from './metadata.ts'
import { isSlo, readSloManifest, SLO_ETAG_KEY, SLO_SIZE_KEY, sloSegments } from './slo.ts'

/** An object as Swift (and S3) serves it: a plain one, or a large one (SLO, DLO, or an S3 multipart object) made of segments. */
export interface SwiftObject {
  path: ObjectPath
  info: ObjectInfo
  size: number
  /** The ETag header's value: bare hex for plain objects, quoted for large ones, as Swift sends them. */
  etag: string
  kind: 'plain' | 'slo' | 'dlo' | 'multipart'
  /** The segments of a large object, resolved on demand (a HEAD of an SLO reads no manifest). */
  segments: () => Promise<Segment[]>
}

/**
 * Looks an object up for a Swift read: NotFound when absent or past its
 * X-Delete-At. `manifest` (multipart-manifest=get) takes an SLO or DLO as
 * the manifest object it is.
 */
export async function resolveObject (namespace: Namespace, path: ObjectPath, nowMs: number, manifest = false): Promise<SwiftObject> {
  const info = await namespace.headObject(path)
  if (isExpired(info.metadata, nowMs)) throw new SwiftError('NotFound')
  return manifest ? plainObject(path, info) : await describeObject(namespace, path, info)
}

/** Whether the object is made of segments: an SLO, a DLO or an S3 multipart object. */
export function isLargeObject (info: ObjectInfo): boolean {
  return isSlo(info) || info.metadata[DLO_KEY] !== undefined || isMultipart(info)
}

function plainObject (path: ObjectPath, info: ObjectInfo): SwiftObject {
  return { path, info, size: info.size, etag: info.metadata.etag ?? '', kind: 'plain', segments: async () => [{ path, offset: 0, length: info.size }] }
}

/**
 * What the stored object is to a reader of either API: its own bytes, or
 * the concatenation of its segments (an SLO's, a DLO's, or an S3 multipart
 * object's parts), with the assembled size and ETag. A DLO's segments are
 * listed now, since its size depends on them.
 */
export async function describeObject (namespace: Namespace, path: ObjectPath, info: ObjectInfo): Promise<SwiftObject> {
  if (isSlo(info)) {
    return {
      path, info, kind: 'slo', size: Number(info.metadata[SLO_SIZE_KEY]), etag: `"${info.metadata[SLO_ETAG_KEY] ?? ''}"`,
      segments: async () => sloSegments(path.account, (await readSloManifest(namespace, path)).entries)
    }
  }
  const dlo = info.metadata[DLO_KEY]
  if (dlo !== undefined) {
    const { segments, size, etag } = await dloSegments(namespace, path.account, dlo)
    return { path, info, kind: 'dlo', size, etag, segments: async () => segments }
  }
  if (isMultipart(info)) {
    return { path, info, kind: 'multipart', size: manifestSize(info), etag: `"${info.metadata.etag ?? ''}"`, segments: async () => await manifestSegments(namespace, path, info) }
  }
  return plainObject(path, info)
}

/** The bytes [offset, offset + length) of the object. */
export async function objectBody (namespace: Namespace, object: SwiftObject, offset: number, length: number): Promise<AsyncGenerator<Buffer>> {
  if (object.kind === 'plain') {
    if (length === 0) return (async function * () {})()
    return (await namespace.getObject(object.path, { offset, length })).body
  }
  return segmentedBody(namespace, await object.segments(), offset, length)
}

/** What a GET answers: status, headers it adds, the length and body to send. */
export interface RangedBody {
  status: 200 | 206
  headers: Record<string, string>
  length: number
  body: () => Promise<AsyncGenerator<Buffer>>
}

/**
 * Serves the Range header: one satisfiable range as 206 with Content-Range,
 * several as multipart/byteranges, none as 416 (Content-Range: bytes * /size),
 * no or a malformed header as the whole object. Unsatisfiable ranges among
 * satisfiable ones are dropped, as Swift drops them.
 */
export function rangedBody (namespace: Namespace, object: SwiftObject, rangeHeader: string | undefined, contentType: string,
  onUnsatisfiable: (size: number) => void): RangedBody {
  const whole: RangedBody = { status: 200, headers: {}, length: object.size, body: async () => await objectBody(namespace, object, 0, object.size) }
  const ranges = parseRanges(rangeHeader)
  if (ranges === undefined) return whole
  const spans = ranges.map((r) => resolveRange(r, object.size)).filter((s) => s !== undefined)
  if (spans.length === 0) {
    onUnsatisfiable(object.size)
    throw new SwiftError('RangeNotSatisfiable')
  }
  if (spans.length === 1) {
    const span = spans[0]!
    return {
      status: 206,
      headers: { 'content-range': contentRangeOf(span, object.size) },
      length: span.length,
      body: async () => await objectBody(namespace, object, span.offset, span.length)
    }
  }
  const boundary = randomBytes(16).toString('hex')
  const heads = spans.map((span, i) => Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: ${contentRangeOf(span, object.size)}\r\n\r\n`))
  const tail = Buffer.from(`\r\n--${boundary}--`)
  const length = heads.reduce((sum, h) => sum + h.length, 0) + spans.reduce((sum, s) => sum + s.length, 0) + tail.length
  return {
    status: 206,
    headers: { 'content-type': `multipart/byteranges;boundary=${boundary}` },
    length,
    body: async () => (async function * () {
      for (const [i, span] of spans.entries()) {
        yield heads[i]!
        yield * await objectBody(namespace, object, span.offset, span.length)
      }
      yield tail
    })()
  }
}
