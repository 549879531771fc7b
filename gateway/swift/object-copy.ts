import type { ObjectPath } from '../../storage/index.ts'
import { copiedMetadata } from '../http/stored-metadata.ts'
import { lastModifiedOf } from '../s3/bucket-ops.ts'
import { removeReplacedParts, replacedObject } from '../s3/multipart-manifest.ts'
import { authorize } from './access.ts'
import { SwiftError } from './errors.ts'
import { LIMITS } from './limits.ts'
import { objectMetadataFromHeaders, xTimestamp } from './metadata.ts'
import { declaredSize, objectPath, scheduleExpiry, verifiedBody } from './object-ops.ts'
import { objectBody, resolveObject } from './object-reader.ts'
import type { SwiftContext } from './swift-api.ts'
import { parseContainerObject } from './target.ts'

function header (ctx: SwiftContext, name: string): string | undefined {
  const value = ctx.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** The account a copy header names (X-Copy-From-Account, Destination-Account), checked against the caller's rights. */
function otherAccount (ctx: SwiftContext, name: string, method: string): string {
  const account = header(ctx, name)
  if (account === undefined) return ctx.target.account
  if (!account.startsWith('AUTH_')) throw new SwiftError('PreconditionFailed', `${name} must name an AUTH_ account`)
  authorize(ctx.principal, account.slice('AUTH_'.length), method)
  return account
}

/**
 * Copies `source` to `destination` as Swift does: a large object's
 * assembled bytes (its manifest with ?multipart-manifest=get), the
 * source's content headers and user metadata, overridden by the request's
 * X-Object-Meta-* and Content-Type (X-Fresh-Metadata: true starts from
 * nothing). A plain source keeps its ETag; an assembled one gets the MD5 of
 * what was written.
 */
async function copy (ctx: SwiftContext, source: ObjectPath, destination: ObjectPath): Promise<void> {
  const object = await resolveObject(ctx.namespace, source, ctx.now(), ctx.target.query.get('multipart-manifest') === 'get')
  if (object.size > LIMITS.max_file_size) throw new SwiftError('TooLarge')
  const fresh = /^(true|1|yes|on|t|y)$/i.test(header(ctx, 'x-fresh-metadata') ?? '')
  const requested = objectMetadataFromHeaders(ctx.headers, ctx.now())
  if (ctx.headers['content-type'] === undefined && !fresh) delete requested['content-type']
  const metadata = { ...(fresh ? {} : copiedMetadata(object.info.metadata)), ...requested }
  const payload = verifiedBody(await objectBody(ctx.namespace, object, 0, object.size), undefined, object.size)
  const plainEtag = object.kind === 'plain' ? object.info.metadata.etag : undefined
  const replaced = await replacedObject(ctx.namespace, destination, false)
  const info = await ctx.namespace.putObject(destination, payload.body, {
    size: object.size,
    metadata: plainEtag === undefined ? metadata : { ...metadata, etag: plainEtag },
    trailer: plainEtag === undefined ? () => ({ etag: payload.md5Hex() }) : undefined
  })
  await removeReplacedParts(ctx.namespace, destination, replaced, info, ctx.logger)
  await scheduleExpiry(ctx, destination, info)
  ctx.reply.code(201).headers({
    etag: info.metadata.etag ?? payload.md5Hex(),
    'last-modified': lastModifiedOf(info.timestamp).toUTCString(),
    'x-timestamp': xTimestamp(info.timestamp),
    'x-copied-from': encodeURI(`${source.container}/${source.object}`),
    'x-copied-from-account': source.account,
    'x-copied-from-last-modified': lastModifiedOf(object.info.timestamp).toUTCString(),
    'content-length': '0'
  }).send()
}

/** PUT with X-Copy-From: `<container>/<object>` (URL-encoded); the request body must be empty. */
export async function objectCopyFrom (ctx: SwiftContext): Promise<void> {
  if ((declaredSize(ctx) ?? 0) !== 0) throw new SwiftError('BadRequest', 'Copy requests require a zero byte body')
  const from = parseContainerObject(header(ctx, 'x-copy-from') ?? '', 'X-Copy-From')
  const account = otherAccount(ctx, 'x-copy-from-account', 'GET')
  await copy(ctx, { account, ...from }, objectPath(ctx))
}

/** COPY with Destination: `<container>/<object>`. */
export async function objectCopy (ctx: SwiftContext): Promise<void> {
  const destination = header(ctx, 'destination')
  if (destination === undefined) throw new SwiftError('PreconditionFailed', 'You must provide a Destination header')
  const to = parseContainerObject(destination, 'Destination')
  const account = otherAccount(ctx, 'destination-account', 'PUT')
  await copy(ctx, objectPath(ctx), { account, ...to })
}
