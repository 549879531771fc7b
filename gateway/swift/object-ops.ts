import { Readable } from 'node:stream'
import { createHash } from 'node:crypto'
import type { ObjectInfo, ObjectPath } from '../../storage/index.ts'
import { evaluateReadConditions, evaluateWriteConditions, hasWriteConditions } from '../http/conditions.ts'
import { lastModifiedOf } from '../s3/bucket-ops.ts'
import { removeReplacedParts, replacedObject } from '../s3/multipart-manifest.ts'
import { headIfExists, removeObject } from '../s3/object-reader.ts'
import { SwiftError } from './errors.ts'
import { LIMITS, SLO_LIMITS } from './limits.ts'
import { DELETE_AT_KEY, DLO_KEY, objectHeaders, objectMetadataFromHeaders, xTimestamp } from './metadata.ts'
import { rangedBody, resolveObject, type SwiftObject } from './object-reader.ts'
import { buildManifest, isSlo, readBody, readSloManifest, SLO_ETAG_KEY, SLO_SIZE_KEY, sloSegments } from './slo.ts'
import type { SwiftContext } from './swift-api.ts'

export function objectPath (ctx: SwiftContext): ObjectPath {
  return { account: ctx.target.account, container: ctx.target.container!, object: ctx.target.object! }
}

function header (ctx: SwiftContext, name: string): string | undefined {
  const value = ctx.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** The body's declared size: Content-Length, or undefined for chunked transfer encoding; 411 with neither. */
export function declaredSize (ctx: SwiftContext): number | undefined {
  const length = header(ctx, 'content-length')
  if (length === undefined) {
    if (!/chunked/i.test(header(ctx, 'transfer-encoding') ?? '')) throw new SwiftError('LengthRequired')
    return undefined
  }
  const size = Number(length)
  if (!/^\d+$/.test(length) || !Number.isSafeInteger(size)) throw new SwiftError('BadRequest', 'Invalid Content-Length')
  if (size > LIMITS.max_file_size) throw new SwiftError('TooLarge')
  return size
}

/**
 * The request body with its MD5 taken on the way; an ETag header that does
 * not match the bytes fails the stream before its end (422), so the object
 * client aborts every replica and nothing is committed.
 */
export function verifiedBody (body: AsyncIterable<Buffer>, expectedEtag: string | undefined, maxBytes: number): { body: AsyncGenerator<Buffer>, md5Hex: () => string } {
  const md5 = createHash('md5')
  let digest: string | undefined
  let bytes = 0
  const expected = expectedEtag?.trim().replace(/^"|"$/g, '').toLowerCase()
  return {
    body: (async function * () {
      for await (const chunk of body) {
        bytes += chunk.length
        if (bytes > maxBytes) throw new SwiftError('TooLarge')
        md5.update(chunk)
        yield chunk
      }
      digest = md5.digest('hex')
      if (expected !== undefined && expected !== digest) throw new SwiftError('UnprocessableEntity')
    })(),
    md5Hex: () => digest ?? ''
  }
}

function sendWritten (ctx: SwiftContext, info: ObjectInfo, etag: string): void {
  ctx.reply.code(201).headers({
    etag,
    'last-modified': lastModifiedOf(info.timestamp).toUTCString(),
    'x-timestamp': xTimestamp(info.timestamp),
    'content-length': '0'
  }).type('text/html; charset=UTF-8').send()
}

/** Registers a just-written object's X-Delete-At with the reaper. */
export async function scheduleExpiry (ctx: SwiftContext, path: ObjectPath, info: ObjectInfo): Promise<void> {
  const deleteAt = info.metadata[DELETE_AT_KEY]
  if (deleteAt !== undefined) await ctx.expirer.schedule(path, Number(deleteAt), info.timestamp)
}

async function checkPutConditions (ctx: SwiftContext, path: ObjectPath): Promise<void> {
  if (!hasWriteConditions(ctx.headers)) return
  const current = await headIfExists(ctx.namespace, path)
  const live = current !== undefined && !(current.metadata[DELETE_AT_KEY] !== undefined && Number(current.metadata[DELETE_AT_KEY]) * 1000 <= ctx.now())
  const result = evaluateWriteConditions(ctx.headers, live ? { etag: current.metadata.etag ?? '', lastModified: lastModifiedOf(current.timestamp) } : undefined)
  if (result === undefined) return
  if (result.outcome === 'unsupported') throw new SwiftError('BadRequest', 'If-None-Match only supports *')
  throw new SwiftError(result.outcome === 'missing' ? 'NotFound' : 'PreconditionFailed')
}

export async function objectPut (ctx: SwiftContext): Promise<void> {
  if (ctx.target.query.get('multipart-manifest') === 'put') {
    await putSloManifest(ctx)
    return
  }
  const path = objectPath(ctx)
  const size = declaredSize(ctx)
  const metadata = objectMetadataFromHeaders(ctx.headers, ctx.now())
  await checkPutConditions(ctx, path)
  const replaced = await replacedObject(ctx.namespace, path, false)
  const payload = verifiedBody(ctx.request.raw, header(ctx, 'etag'), size ?? LIMITS.max_file_size)
  const info = await ctx.namespace.putObject(path, payload.body, { size, metadata, trailer: () => ({ etag: payload.md5Hex() }) })
  await removeReplacedParts(ctx.namespace, path, replaced, info, ctx.logger)
  await scheduleExpiry(ctx, path, info)
  sendWritten(ctx, info, info.metadata.etag ?? payload.md5Hex())
}

/** PUT ?multipart-manifest=put: validates the segments and stores the SLO manifest (listed with the assembled size and ETag). */
async function putSloManifest (ctx: SwiftContext): Promise<void> {
  const path = objectPath(ctx)
  await ctx.namespace.headContainer(path.account, path.container)
  const body = await readBody(ctx.request.raw, SLO_LIMITS.max_manifest_size)
  const manifest = await buildManifest(ctx.namespace, path.account, path, body)
  const expected = header(ctx, 'etag')?.replace(/^"|"$/g, '')
  if (expected !== undefined && expected !== manifest.etag) throw new SwiftError('UnprocessableEntity')
  await checkPutConditions(ctx, path)
  const replaced = await replacedObject(ctx.namespace, path, false)
  const stored = Buffer.from(JSON.stringify(manifest.entries))
  const metadata: Record<string, string> = {
    ...objectMetadataFromHeaders(ctx.headers, ctx.now()),
    etag: manifest.etag,
    [SLO_SIZE_KEY]: String(manifest.size),
    [SLO_ETAG_KEY]: manifest.etag
  }
  const info = await ctx.namespace.objects.put(path, [stored], { size: stored.length, metadata })
  // Listed with the assembled object's size and ETag, as Swift lists an SLO.
  await ctx.namespace.listings.updateObject(path.account, path.container, {
    name: path.object, timestamp: info.timestamp, size: manifest.size, etag: manifest.etag, contentType: metadata['content-type'] ?? ''
  })
  await removeReplacedParts(ctx.namespace, path, replaced, info, ctx.logger)
  await scheduleExpiry(ctx, path, info)
  sendWritten(ctx, info, `"${manifest.etag}"`)
}

function readHeaders (ctx: SwiftContext, object: SwiftObject): Record<string, string> {
  const headers: Record<string, string> = {
    ...objectHeaders(object.info.metadata),
    etag: object.etag,
    'last-modified': lastModifiedOf(object.info.timestamp).toUTCString(),
    'x-timestamp': xTimestamp(object.info.timestamp),
    'accept-ranges': 'bytes'
  }
  if (isSlo(object.info)) headers['x-static-large-object'] = 'True'
  return headers
}

/** 304 / 412 from If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since against the object's ETag and date. */
function checkReadConditions (ctx: SwiftContext, object: SwiftObject): void {
  const result = evaluateReadConditions(ctx.headers, { etag: object.etag.replace(/^"|"$/g, ''), lastModified: lastModifiedOf(object.info.timestamp) })
  if (result === undefined) return
  if (result.outcome === 'not-modified') {
    ctx.reply.headers({ etag: object.etag, 'last-modified': lastModifiedOf(object.info.timestamp).toUTCString() })
    throw new SwiftError('NotModified')
  }
  throw new SwiftError('PreconditionFailed')
}

async function readObject (ctx: SwiftContext, withBody: boolean): Promise<void> {
  const path = objectPath(ctx)
  const manifestGet = ctx.target.query.get('multipart-manifest') === 'get'
  const object = await resolveObject(ctx.namespace, path, ctx.now(), manifestGet)
  checkReadConditions(ctx, object)
  const headers = readHeaders(ctx, object)
  if (manifestGet && isSlo(object.info)) {
    await sendSloManifest(ctx, object, headers, withBody)
    return
  }
  const contentType = headers['content-type'] ?? 'application/octet-stream'
  const ranged = rangedBody(ctx.namespace, object, header(ctx, 'range'), contentType, (size) => {
    ctx.reply.header('content-range', `bytes */${size}`)
  })
  ctx.reply.code(ranged.status).headers({ ...headers, ...ranged.headers, 'content-length': String(ranged.length) })
  if (!withBody) {
    ctx.reply.send()
    return
  }
  ctx.reply.send(Readable.from(await ranged.body(), { objectMode: false }))
}

/** multipart-manifest=get: the stored manifest (or, with format=raw, the form a manifest PUT takes). */
async function sendSloManifest (ctx: SwiftContext, object: SwiftObject, headers: Record<string, string>, withBody: boolean): Promise<void> {
  const { entries } = await readSloManifest(ctx.namespace, object.path)
  const raw = ctx.target.query.get('format') === 'raw'
  const body = Buffer.from(JSON.stringify(raw
    ? entries.map((e) => ({ path: e.name, etag: e.hash, size_bytes: e.bytes, ...(e.range === undefined ? {} : { range: e.range }) }))
    : entries))
  ctx.reply.headers({ ...headers, etag: object.info.metadata.etag ?? '', 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) })
  ctx.reply.send(withBody ? body : undefined)
}

export async function objectGet (ctx: SwiftContext): Promise<void> {
  await readObject(ctx, true)
}

export async function objectHead (ctx: SwiftContext): Promise<void> {
  await readObject(ctx, false)
}

/**
 * POST replaces an object's metadata as Swift's does: all X-Object-Meta-*
 * (what the request does not send is gone), Content-Type and the like when
 * sent, X-Delete-At/After (X-Remove-Delete-At drops it). Replicas hold
 * metadata and body as one immutable version, so the object is rewritten
 * under a new timestamp with its bytes streamed across.
 */
export async function objectPost (ctx: SwiftContext): Promise<void> {
  const path = objectPath(ctx)
  const current = await resolveObject(ctx.namespace, path, ctx.now(), true)
  const sent = objectMetadataFromHeaders(ctx.headers, ctx.now())
  const kept: Record<string, string> = {}
  for (const [key, value] of Object.entries(current.info.metadata)) {
    // System keys (etag, checksums, large-object and multipart bookkeeping) stay; user-facing ones are replaced.
    if (key.startsWith('meta-') || key === DLO_KEY) continue
    if (key === DELETE_AT_KEY && ctx.headers['x-remove-delete-at'] !== undefined) continue
    kept[key] = value
  }
  if (ctx.headers['content-type'] === undefined) delete sent['content-type']
  const metadata = { ...kept, ...sent }
  const read = await ctx.namespace.getObject(path)
  if (read.info.timestamp !== current.info.timestamp) {
    void read.body.return(undefined)
    throw new SwiftError('Conflict')
  }
  const info = await ctx.namespace.objects.put(path, read.body, { size: read.info.size, metadata })
  await ctx.namespace.listings.updateObject(path.account, path.container, {
    name: path.object,
    timestamp: info.timestamp,
    size: isSlo(info) ? Number(metadata[SLO_SIZE_KEY]) : info.size,
    etag: metadata.etag ?? '',
    contentType: metadata['content-type'] ?? ''
  })
  await scheduleExpiry(ctx, path, info)
  ctx.reply.code(202).header('content-length', '0').send()
}

export async function objectDelete (ctx: SwiftContext): Promise<void> {
  const path = objectPath(ctx)
  const current = await headIfExists(ctx.namespace, path)
  if (current === undefined) {
    await ctx.namespace.headContainer(path.account, path.container)
    throw new SwiftError('NotFound')
  }
  if (ctx.target.query.get('multipart-manifest') === 'delete' && isSlo(current)) {
    await deleteSloWithSegments(ctx, path)
    return
  }
  await removeObject(ctx.namespace, path, ctx.logger)
  const expired = current.metadata[DELETE_AT_KEY] !== undefined && Number(current.metadata[DELETE_AT_KEY]) * 1000 <= ctx.now()
  if (expired) throw new SwiftError('NotFound')
  ctx.reply.code(204).send()
}

/** DELETE ?multipart-manifest=delete: the segments, then the manifest; answered as Swift's bulk delete answers. */
async function deleteSloWithSegments (ctx: SwiftContext, path: ObjectPath): Promise<void> {
  const { entries } = await readSloManifest(ctx.namespace, path)
  let deleted = 0
  let notFound = 0
  for (const segment of sloSegments(path.account, entries)) {
    const existing = await headIfExists(ctx.namespace, segment.path).catch(() => undefined)
    if (existing === undefined) {
      notFound++
      continue
    }
    await ctx.namespace.deleteObject(segment.path)
    deleted++
  }
  await ctx.namespace.deleteObject(path)
  deleted++
  const result = { 'Number Deleted': deleted, 'Number Not Found': notFound, 'Response Body': '', 'Response Status': '200 OK', Errors: [] }
  if (/json/.test(ctx.headers.accept ?? '')) {
    ctx.reply.type('application/json; charset=utf-8').send(JSON.stringify(result))
    return
  }
  ctx.reply.type('text/plain; charset=utf-8')
    .send(`Number Deleted: ${deleted}\nNumber Not Found: ${notFound}\nResponse Body: \nResponse Status: 200 OK\nErrors: \n`)
}
