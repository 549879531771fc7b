import { Readable } from 'node:stream'
import type { ObjectInfo, ObjectPath } from '../../storage/index.ts'
import { createPayloadStream, type PayloadResult } from './auth/index.ts'
import { requireExistingBucketName } from './bucket-names.ts'
import { bucketOf, lastModifiedOf, sendXml } from './bucket-ops.ts'
import { checkReadConditions, checkWriteConditions, hasWriteConditions, type ConditionSubject } from './conditions.ts'
import { S3Error, toS3Error } from './errors.ts'
import { copiedMetadata, headersFromMetadata, metadataFromHeaders, quotedEtag } from './object-metadata.ts'
import { removeReplacedParts, replacedObject } from './multipart-manifest.ts'
import { openObject, partRange, removeObject } from './object-reader.ts'
import { parseRange, type RequestedRange } from '../http/range.ts'
import { readDocument } from './request-body.ts'
import { fromStorageError } from './storage-errors.ts'
import type { S3Context } from './s3-api.ts'
import { parseXml, type XmlElement } from './xml.ts'

/** S3's single-PUT limit. */
export const MAX_PUT_BYTES = 5 * 1024 ** 3
const MAX_KEY_BYTES = 1024

export function objectPath (ctx: S3Context, key = ctx.target.key!): ObjectPath {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError', undefined, { details: { Size: String(Buffer.byteLength(key)), MaxSizeAllowed: String(MAX_KEY_BYTES) } })
  return { account: ctx.account, container: bucketOf(ctx), object: key }
}

function header (ctx: S3Context, name: string): string | undefined {
  const value = ctx.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** The current object's ETag and date for a precondition, or undefined when it does not exist. */
export function conditionSubject (info: ObjectInfo | undefined): ConditionSubject | undefined {
  return info === undefined ? undefined : { etag: info.metadata.etag ?? '', lastModified: lastModifiedOf(info.timestamp) }
}

/** Metadata only known once the body is read: the ETag and the checksum the client asked for. */
export function trailerMetadata (result: PayloadResult): Record<string, string> {
  const metadata: Record<string, string> = { etag: result.md5Hex }
  if (result.checksum !== undefined) metadata[`checksum-${result.checksum.algorithm}`] = result.checksum.value
  return metadata
}

export async function putObject (ctx: S3Context): Promise<void> {
  const path = objectPath(ctx)
  const conditional = hasWriteConditions(ctx.headers)
  const replaced = await replacedObject(ctx.namespace, path, conditional)
  if (conditional) checkWriteConditions(ctx.headers, conditionSubject(replaced))
  const metadata = metadataFromHeaders(ctx.headers)
  const payload = createPayloadStream(ctx.request.raw, ctx.auth, ctx.headers, { maxBytes: MAX_PUT_BYTES })
  if (payload.expectedBytes === undefined) throw new S3Error('MissingContentLength')
  const info = await ctx.namespace.putObject(path, payload.body, {
    size: payload.expectedBytes,
    metadata,
    trailer: () => trailerMetadata(payload.result())
  })
  await removeReplacedParts(ctx.namespace, path, replaced, info, ctx.logger)
  const checksum = payload.result().checksum
  if (checksum !== undefined) ctx.reply.header(`x-amz-checksum-${checksum.algorithm}`, checksum.value)
  ctx.reply.header('etag', quotedEtag(info.metadata)).send()
}

/** Response header overrides a (usually presigned) GET may ask for. */
const OVERRIDES = ['content-type', 'content-language', 'expires', 'cache-control', 'content-disposition', 'content-encoding']

function objectHeaders (ctx: S3Context, info: ObjectInfo, wholeObject: boolean): Record<string, string> {
  const checksumMode = header(ctx, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED' && wholeObject
  const headers = headersFromMetadata(info.metadata, checksumMode)
  for (const name of OVERRIDES) {
    const value = ctx.target.query.get(`response-${name}`)
    if (value !== null) headers[name] = value
  }
  headers.etag = quotedEtag(info.metadata)
  headers['last-modified'] = lastModifiedOf(info.timestamp).toUTCString()
  headers['accept-ranges'] = 'bytes'
  return headers
}

/** The range a GET/HEAD asks for: a Range header or a `partNumber` (never both), with the part count to report. */
async function requestedRange (ctx: S3Context, path: ObjectPath): Promise<{ range?: RequestedRange, partsCount?: number }> {
  const partNumber = ctx.target.query.get('partNumber')
  const rangeHeader = header(ctx, 'range')
  if (partNumber === null) return { range: parseRange(rangeHeader) }
  if (rangeHeader !== undefined) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter.')
  const n = Number(partNumber)
  if (!/^\d+$/.test(partNumber) || n < 1 || n > 10000) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { details: { ArgumentName: 'partNumber', ArgumentValue: partNumber } })
  }
  return await partRange(ctx.namespace, path, n)
}

async function readObject (ctx: S3Context, withBody: boolean): Promise<void> {
  const path = objectPath(ctx)
  const { range, partsCount } = await requestedRange(ctx, path)
  const opened = await openObject(ctx.namespace, path, range, withBody, (size) => {
    ctx.reply.header('content-range', `bytes */${size}`)
  })
  try {
    checkReadConditions(ctx.headers, { etag: opened.info.metadata.etag ?? '', lastModified: lastModifiedOf(opened.info.timestamp) })
  } catch (err) {
    opened.cancel()
    if (err instanceof S3Error && err.code === 'NotModified') {
      ctx.reply.headers({ etag: quotedEtag(opened.info.metadata), 'last-modified': lastModifiedOf(opened.info.timestamp).toUTCString() })
    }
    throw err
  }
  ctx.reply.headers(objectHeaders(ctx, opened.info, opened.contentRange === undefined))
  ctx.reply.header('content-length', String(opened.length))
  if (opened.contentRange !== undefined) ctx.reply.code(206).header('content-range', opened.contentRange)
  if (partsCount !== undefined) ctx.reply.header('x-amz-mp-parts-count', String(partsCount))
  if (!withBody) {
    ctx.reply.send()
    return
  }
  ctx.reply.send(Readable.from(opened.body, { objectMode: false }))
}

export async function getObject (ctx: S3Context): Promise<void> {
  await readObject(ctx, true)
}

export async function headObject (ctx: S3Context): Promise<void> {
  await readObject(ctx, false)
}

export async function deleteObject (ctx: S3Context): Promise<void> {
  await removeObject(ctx.namespace, objectPath(ctx), ctx.logger)
  ctx.reply.code(204).send()
}

/** Parses `x-amz-copy-source`: `bucket/key` or `/bucket/key`, URL-encoded, optional `?versionId=`. */
export function copySourcePath (ctx: S3Context): ObjectPath {
  const raw = header(ctx, 'x-amz-copy-source') ?? ''
  const [pathPart = '', query = ''] = raw.split('?', 2)
  if (query !== '' && !/^versionId=(null)?$/.test(query)) throw new S3Error('NotImplemented', 'Object versions are not supported')
  let decoded: string
  try {
    decoded = decodeURIComponent(pathPart)
  } catch {
    throw new S3Error('InvalidArgument', 'Invalid copy source encoding', { details: { ArgumentName: 'x-amz-copy-source' } })
  }
  const trimmed = decoded.startsWith('/') ? decoded.slice(1) : decoded
  const slash = trimmed.indexOf('/')
  if (slash <= 0 || slash === trimmed.length - 1) {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', { details: { ArgumentName: 'x-amz-copy-source' } })
  }
  const key = trimmed.slice(slash + 1)
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError')
  const bucket = trimmed.slice(0, slash)
  requireExistingBucketName(bucket)
  return { account: ctx.account, container: bucket, object: key }
}

export async function copyObject (ctx: S3Context): Promise<void> {
  const destination = objectPath(ctx)
  const source = copySourcePath(ctx)
  const directive = (header(ctx, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase()
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', 'Unknown metadata directive.', { details: { ArgumentName: 'x-amz-metadata-directive' } })
  const same = source.container === destination.container && source.object === destination.object
  if (same && directive === 'COPY') {
    throw new S3Error('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.')
  }
  const opened = await openObject(ctx.namespace, source, undefined, true)
  try {
    checkReadConditions(ctx.headers, { etag: opened.info.metadata.etag ?? '', lastModified: lastModifiedOf(opened.info.timestamp) }, 'x-amz-copy-source-')
  } catch (err) {
    opened.cancel()
    throw err
  }
  const replaced = same ? opened.info : await replacedObject(ctx.namespace, destination, false)
  const metadata = directive === 'REPLACE' ? metadataFromHeaders(ctx.headers) : copiedMetadata(opened.info.metadata)
  const etag = opened.info.metadata.etag ?? ''
  const info = await ctx.namespace.putObject(destination, opened.body, { size: opened.length, metadata: { ...metadata, etag } })
  await removeReplacedParts(ctx.namespace, destination, replaced, info, ctx.logger)
  sendXml(ctx, 'CopyObjectResult', [['LastModified', lastModifiedOf(info.timestamp).toISOString()], ['ETag', quotedEtag(info.metadata)]])
}

/** Keys of one DeleteObjects removed at a time: enough to overlap round trips, few enough not to flood the nodes. */
const DELETE_CONCURRENCY = 32

export async function deleteObjects (ctx: S3Context): Promise<void> {
  const request = parseXml(await readDocument(ctx, { required: true }), 'Delete')
  const quiet = String(request.Quiet ?? 'false').trim().toLowerCase() === 'true'
  const objects = request.Object
  if (!Array.isArray(objects) || objects.length === 0) throw new S3Error('MalformedXML')
  if (objects.length > 1000) throw new S3Error('MalformedXML', 'The request may contain at most 1000 keys')
  const keys = objects.map((o: unknown) => {
    const key = typeof o === 'object' && o !== null ? (o as Record<string, unknown>).Key : undefined
    if (typeof key !== 'string' || key === '') throw new S3Error('MalformedXML')
    return key
  })
  // A missing bucket fails the request, not each key.
  await ctx.namespace.headContainer(ctx.account, bucketOf(ctx))
  const results: XmlElement[][] = []
  for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
    results.push(...await Promise.all(keys.slice(i, i + DELETE_CONCURRENCY).map(async (key): Promise<XmlElement[]> => {
      try {
        await removeObject(ctx.namespace, objectPath(ctx, key), ctx.logger)
        return quiet ? [] : [['Deleted', [['Key', key]]]]
      } catch (err) {
        const error = toS3Error(fromStorageError(err))
        ctx.logger.warn({ key, err }, 'multi-delete of one key failed')
        return [['Error', [['Key', key], ['Code', error.code], ['Message', error.message]]]]
      }
    })))
  }
  sendXml(ctx, 'DeleteResult', results.flat())
}
