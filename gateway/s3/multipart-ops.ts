import { createHash, randomBytes } from 'node:crypto'
import { MAX_OBJECT_NAME_BYTES, StorageError, type ObjectPath } from '../../storage/index.ts'
import { createPayloadStream } from './auth/index.ts'
import { bucketOf, lastModifiedOf, owner, sendXml } from './bucket-ops.ts'
import { checkReadConditions, checkWriteConditions, hasWriteConditions } from './conditions.ts'
import { S3Error } from './errors.ts'
import {
  MANIFEST_KEY, MANIFEST_SIZE_KEY, partObjectName, removeParts, removeReplacedParts, segmentsContainer, uploadsContainer, type ManifestPart
} from './multipart-manifest.ts'
import { metadataFromHeaders } from './object-metadata.ts'
import { conditionSubject, copySourcePath, objectPath, trailerMetadata } from './object-ops.ts'
import { headIfExists, openObject } from './object-reader.ts'
import { parseRange } from '../http/range.ts'
import { readDocument } from './request-body.ts'
import type { S3Context } from './s3-api.ts'
import { keyEncoder } from './list-ops.ts'
import { opt, parseXml, type XmlElement } from './xml.ts'

const MAX_PART_BYTES = 5 * 1024 ** 3
const MIN_PART_BYTES = 5 * 1024 * 1024
const MAX_PARTS = 10000
/** Separates key and upload id in the name of an upload record; sorts below every printable byte. */
const SEP = '\u0001'
const UPLOAD_ID_HEX = 32
/**
 * Upload records are named `<key><SEP><upload id>` so that listing them
 * lists uploads in key order; with the store's 1024-byte name limit that
 * leaves 991 bytes for the key (S3 allows 1024).
 */
const MAX_MULTIPART_KEY_BYTES = MAX_OBJECT_NAME_BYTES - SEP.length - UPLOAD_ID_HEX

function uploadRecord (ctx: S3Context, key: string, uploadId: string): ObjectPath {
  return { account: ctx.account, container: uploadsContainer(bucketOf(ctx)), object: `${key}${SEP}${uploadId}` }
}

function segments (ctx: S3Context, object = ''): ObjectPath {
  return { account: ctx.account, container: segmentsContainer(bucketOf(ctx)), object }
}

function uploadIdOf (ctx: S3Context): string {
  const id = ctx.target.query.get('uploadId') ?? ''
  if (id.length !== UPLOAD_ID_HEX || !/^[0-9a-f]+$/.test(id)) throw new S3Error('NoSuchUpload', undefined, { details: { UploadId: id } })
  return id
}

/** The upload's record (its future object metadata); NoSuchUpload when it is gone. */
async function requireUpload (ctx: S3Context, key: string, uploadId: string): Promise<Record<string, string>> {
  try {
    return (await ctx.namespace.headObject(uploadRecord(ctx, key, uploadId))).metadata
  } catch (err) {
    if (err instanceof StorageError && (err.code === 'NotFound' || err.code === 'NoSuchContainer')) {
      // Say NoSuchBucket when it is the bucket that is missing.
      await ctx.namespace.headContainer(ctx.account, bucketOf(ctx))
      throw new S3Error('NoSuchUpload', undefined, { details: { UploadId: uploadId } })
    }
    throw err
  }
}

function partNumberOf (ctx: S3Context): number {
  const n = Number(ctx.target.query.get('partNumber'))
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive`, { details: { ArgumentName: 'partNumber' } })
  }
  return n
}

export async function createMultipartUpload (ctx: S3Context): Promise<void> {
  const path = objectPath(ctx)
  const keyBytes = Buffer.byteLength(path.object)
  if (keyBytes > MAX_MULTIPART_KEY_BYTES) {
    throw new S3Error('KeyTooLongError', `Multipart uploads take keys of up to ${MAX_MULTIPART_KEY_BYTES} bytes`, {
      details: { Size: String(keyBytes), MaxSizeAllowed: String(MAX_MULTIPART_KEY_BYTES) }
    })
  }
  await ctx.namespace.headContainer(ctx.account, path.container)
  const metadata = metadataFromHeaders(ctx.headers)
  const algorithm = ctx.headers['x-amz-checksum-algorithm']
  if (typeof algorithm === 'string') metadata['checksum-algorithm'] = algorithm.toLowerCase()
  for (const container of [uploadsContainer(path.container), segmentsContainer(path.container)]) {
    await ctx.namespace.createContainer(ctx.account, container)
  }
  const uploadId = randomBytes(UPLOAD_ID_HEX / 2).toString('hex')
  await ctx.namespace.putObject(uploadRecord(ctx, path.object, uploadId), [], { size: 0, metadata: { ...metadata, initiator: ctx.auth.principal } })
  if (typeof algorithm === 'string') ctx.reply.header('x-amz-checksum-algorithm', algorithm)
  sendXml(ctx, 'InitiateMultipartUploadResult', [['Bucket', path.container], ['Key', path.object], ['UploadId', uploadId]])
}

export async function uploadPart (ctx: S3Context): Promise<void> {
  const path = objectPath(ctx)
  const uploadId = uploadIdOf(ctx)
  const partNumber = partNumberOf(ctx)
  await requireUpload(ctx, path.object, uploadId)
  const payload = createPayloadStream(ctx.request.raw, ctx.auth, ctx.headers, { maxBytes: MAX_PART_BYTES })
  if (payload.expectedBytes === undefined) throw new S3Error('MissingContentLength')
  const info = await ctx.namespace.putObject(segments(ctx, partObjectName(uploadId, partNumber)), payload.body, {
    size: payload.expectedBytes,
    trailer: () => trailerMetadata(payload.result())
  })
  const checksum = payload.result().checksum
  if (checksum !== undefined) ctx.reply.header(`x-amz-checksum-${checksum.algorithm}`, checksum.value)
  ctx.reply.header('etag', `"${info.metadata.etag}"`).send()
}

export async function uploadPartCopy (ctx: S3Context): Promise<void> {
  const path = objectPath(ctx)
  const uploadId = uploadIdOf(ctx)
  const partNumber = partNumberOf(ctx)
  await requireUpload(ctx, path.object, uploadId)
  const rangeHeader = ctx.headers['x-amz-copy-source-range']
  const range = parseRange(typeof rangeHeader === 'string' ? rangeHeader : undefined)
  if (rangeHeader !== undefined && (range === undefined || range.kind !== 'from' || range.end === undefined)) {
    throw new S3Error('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      { details: { ArgumentName: 'x-amz-copy-source-range' } })
  }
  const opened = await openObject(ctx.namespace, copySourcePath(ctx), range, true)
  try {
    checkReadConditions(ctx.headers, { etag: opened.info.metadata.etag ?? '', lastModified: lastModifiedOf(opened.info.timestamp) }, 'x-amz-copy-source-')
  } catch (err) {
    opened.cancel()
    throw err
  }
  const md5 = createHash('md5')
  const info = await ctx.namespace.putObject(segments(ctx, partObjectName(uploadId, partNumber)), tap(opened.body, md5), {
    size: opened.length,
    trailer: () => ({ etag: md5.digest('hex') })
  })
  sendXml(ctx, 'CopyPartResult', [['LastModified', lastModifiedOf(info.timestamp).toISOString()], ['ETag', `"${info.metadata.etag}"`]])
}

async function * tap (body: AsyncIterable<Buffer>, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    hash.update(chunk)
    yield chunk
  }
}

/** The parts named in a CompleteMultipartUpload document, checked for order. */
function requestedParts (text: string): Array<{ n: number, etag: string }> {
  const doc = parseXml(text, 'CompleteMultipartUpload')
  const parts = doc.Part
  if (!Array.isArray(parts) || parts.length === 0) throw new S3Error('MalformedXML')
  const out = parts.map((p: unknown) => {
    const part = typeof p === 'object' && p !== null ? p as Record<string, unknown> : {}
    const n = Number(part.PartNumber)
    if (!Number.isInteger(n) || typeof part.ETag !== 'string') throw new S3Error('MalformedXML')
    return { n, etag: part.ETag.trim().replace(/^"|"$/g, '') }
  })
  for (let i = 1; i < out.length; i++) if (out[i]!.n <= out[i - 1]!.n) throw new S3Error('InvalidPartOrder')
  return out
}

export async function completeMultipartUpload (ctx: S3Context): Promise<void> {
  const path = objectPath(ctx)
  const uploadId = uploadIdOf(ctx)
  const record = await requireUpload(ctx, path.object, uploadId)
  const wanted = requestedParts(await readDocument(ctx, { required: true, headerChecksums: 'object' }))
  const uploaded = new Map<number, { size: number, etag: string }>()
  let marker: string | undefined
  for (;;) {
    const page = await ctx.namespace.listObjects(ctx.account, segmentsContainer(path.container), { prefix: `${uploadId}/`, marker, limit: 1000 })
    for (const e of page.entries) uploaded.set(Number(e.name.slice(uploadId.length + 1)), { size: e.size, etag: e.etag })
    if (!page.truncated) break
    marker = page.nextMarker
  }
  const parts: ManifestPart[] = wanted.map(({ n, etag }, i) => {
    const part = uploaded.get(n)
    if (part === undefined || part.etag !== etag) throw new S3Error('InvalidPart', undefined, { details: { UploadId: uploadId, PartNumber: String(n), ETag: etag } })
    if (i < wanted.length - 1 && part.size < MIN_PART_BYTES) {
      throw new S3Error('EntityTooSmall', undefined, { details: { PartNumber: String(n), ProposedSize: String(part.size), MinSizeAllowed: String(MIN_PART_BYTES) } })
    }
    return { n, size: part.size, etag }
  })
  const etag = `${createHash('md5').update(Buffer.concat(parts.map((p) => Buffer.from(p.etag, 'hex')))).digest('hex')}-${parts.length}`
  const size = parts.reduce((sum, p) => sum + p.size, 0)
  const previous = await headIfExists(ctx.namespace, path)
  // Conditional writes hold for the object a Complete creates as for a PUT; the upload stays for a retry.
  if (hasWriteConditions(ctx.headers)) checkWriteConditions(ctx.headers, conditionSubject(previous))
  const metadata: Record<string, string> = { ...record, etag, [MANIFEST_KEY]: uploadId, [MANIFEST_SIZE_KEY]: String(size) }
  delete metadata.initiator
  const manifest = Buffer.from(JSON.stringify(parts))
  const written = await ctx.namespace.objects.put(path, [manifest], { size: manifest.length, metadata })
  // Listed with the object's size, not the manifest's.
  await ctx.namespace.listings.updateObject(path.account, path.container, {
    name: path.object, timestamp: written.timestamp, size, etag, contentType: metadata['content-type'] ?? ''
  })
  await ctx.namespace.deleteObject(uploadRecord(ctx, path.object, uploadId))
  const used = new Set(parts.map((p) => p.n))
  await removeParts(ctx.namespace, segments(ctx), uploadId, (n) => !used.has(n), ctx.logger)
  await removeReplacedParts(ctx.namespace, path, previous, written, ctx.logger)
  sendXml(ctx, 'CompleteMultipartUploadResult', [
    ['Location', `/${path.container}/${path.object}`], ['Bucket', path.container], ['Key', path.object], ['ETag', `"${etag}"`]
  ])
}

export async function abortMultipartUpload (ctx: S3Context): Promise<void> {
  const path = objectPath(ctx)
  const uploadId = uploadIdOf(ctx)
  await requireUpload(ctx, path.object, uploadId)
  await ctx.namespace.deleteObject(uploadRecord(ctx, path.object, uploadId))
  await removeParts(ctx.namespace, segments(ctx), uploadId, () => true, ctx.logger)
  ctx.reply.code(204).send()
}

function maxOf (ctx: S3Context, name: string, fallback: number): number {
  const raw = ctx.target.query.get(name)
  if (raw === null) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer`, { details: { ArgumentName: name } })
  return Math.min(n, 1000)
}

export async function listParts (ctx: S3Context): Promise<void> {
  const path = objectPath(ctx)
  const uploadId = uploadIdOf(ctx)
  const record = await requireUpload(ctx, path.object, uploadId)
  const maxParts = maxOf(ctx, 'max-parts', 1000)
  const after = Number(ctx.target.query.get('part-number-marker') ?? '0')
  if (!Number.isInteger(after) || after < 0) throw new S3Error('InvalidArgument', 'part-number-marker must be a non-negative integer')
  const page = maxParts === 0
    ? { entries: [], truncated: false }
    : await ctx.namespace.listObjects(ctx.account, segmentsContainer(path.container), {
      prefix: `${uploadId}/`, marker: after > 0 ? partObjectName(uploadId, after) : undefined, limit: maxParts
    })
  const parts: XmlElement[] = page.entries.map((e) => ['Part', [
    ['PartNumber', Number(e.name.slice(uploadId.length + 1))], ['LastModified', e.lastModified.toISOString()],
    ['ETag', `"${e.etag}"`], ['Size', e.size]
  ]])
  const last = page.entries.at(-1)
  sendXml(ctx, 'ListPartsResult', [
    ['Bucket', path.container], ['Key', path.object], ['UploadId', uploadId],
    ['PartNumberMarker', after], ...opt('NextPartNumberMarker', last === undefined ? undefined : Number(last.name.slice(uploadId.length + 1))),
    ['MaxParts', maxParts], ['IsTruncated', page.truncated],
    ['Initiator', [['ID', record.initiator ?? ''], ['DisplayName', record.initiator ?? '']]], owner(ctx),
    ['StorageClass', 'STANDARD'], ...parts
  ])
}

export async function listMultipartUploads (ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx)
  await ctx.namespace.headContainer(ctx.account, bucket)
  const q = ctx.target.query
  const prefix = q.get('prefix') ?? undefined
  const delimiter = q.get('delimiter') || undefined
  const keyMarker = q.get('key-marker') || undefined
  const uploadIdMarker = q.get('upload-id-marker') || undefined
  const maxUploads = maxOf(ctx, 'max-uploads', 1000)
  const encode = keyEncoder(ctx)
  const page = maxUploads === 0
    ? { entries: [], commonPrefixes: [] as string[], truncated: false, nextMarker: undefined }
    : await ctx.namespace.listings.listObjects(ctx.account, uploadsContainer(bucket), {
      prefix, delimiter, marker: uploadsMarker(keyMarker, uploadIdMarker, delimiter), limit: maxUploads
    }).catch((err: unknown) => {
      if (err instanceof StorageError && err.code === 'NotFound') return { entries: [], commonPrefixes: [] as string[], truncated: false, nextMarker: undefined }
      throw err
    })
  const uploads: XmlElement[] = page.entries.map((e) => {
    const cut = e.name.lastIndexOf(SEP)
    return ['Upload', [
      ['Key', encode(e.name.slice(0, cut))], ['UploadId', e.name.slice(cut + 1)],
      ['Initiator', [['ID', ctx.auth.principal], ['DisplayName', ctx.auth.principal]]], owner(ctx),
      ['StorageClass', 'STANDARD'], ['Initiated', e.lastModified.toISOString()]
    ]]
  })
  // A page may end on an upload (key and id) or on a common prefix (a key marker alone).
  const next = page.truncated ? page.nextMarker : undefined
  const cut = next?.lastIndexOf(SEP) ?? -1
  sendXml(ctx, 'ListMultipartUploadsResult', [
    ['Bucket', bucket], ['KeyMarker', encode(keyMarker ?? '')], ['UploadIdMarker', uploadIdMarker ?? ''],
    ...opt('NextKeyMarker', next === undefined ? undefined : encode(cut === -1 ? next : next.slice(0, cut))),
    ...opt('NextUploadIdMarker', next === undefined || cut === -1 ? undefined : next.slice(cut + 1)),
    ...opt('Prefix', prefix === undefined ? undefined : encode(prefix)), ...opt('Delimiter', delimiter === undefined ? undefined : encode(delimiter)),
    ...opt('EncodingType', q.get('encoding-type') ?? undefined),
    ['MaxUploads', maxUploads], ['IsTruncated', page.truncated], ...uploads,
    ...page.commonPrefixes.map((p): XmlElement => ['CommonPrefixes', [['Prefix', encode(p)]]])
  ])
}

/**
 * Where a ListMultipartUploads page starts in the upload records
 * (`<key><SEP><id>`): after one upload, after every upload of a key, or,
 * for a key marker that is a common prefix from the last page, after that
 * whole prefix (the listing skips a rolled-up prefix equal to its marker).
 */
function uploadsMarker (keyMarker: string | undefined, uploadIdMarker: string | undefined, delimiter: string | undefined): string | undefined {
  if (keyMarker === undefined) return undefined
  if (uploadIdMarker !== undefined) return `${keyMarker}${SEP}${uploadIdMarker}`
  if (delimiter !== undefined && keyMarker.endsWith(delimiter)) return keyMarker
  return `${keyMarker}${SEP}\uffff`
}
