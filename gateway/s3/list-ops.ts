import { uriEncode } from './auth/index.ts'
import { bucketOf, owner, sendXml } from './bucket-ops.ts'
import { S3Error } from './errors.ts'
import type { S3Context } from './s3-api.ts'
import { opt, type XmlElement } from './xml.ts'

const MAX_KEYS = 1000
const TOKEN_PREFIX = 'rs1:'

interface Listing {
  prefix?: string
  delimiter?: string
  marker?: string
  maxKeys: number
  encode: (text: string) => string
}

function maxKeysOf (ctx: S3Context): number {
  const raw = ctx.target.query.get('max-keys')
  if (raw === null) return MAX_KEYS
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', { details: { ArgumentName: 'max-keys', ArgumentValue: raw } })
  return Math.min(n, MAX_KEYS)
}

/** `encoding-type=url` for listings: keys and prefixes URL-encoded, or as they are. */
export function keyEncoder (ctx: S3Context): (text: string) => string {
  const type = ctx.target.query.get('encoding-type')
  if (type === null) return (text) => text
  if (type !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { details: { ArgumentName: 'encoding-type', ArgumentValue: type } })
  // Keys keep their slashes readable, as S3 does.
  return (text) => uriEncode(text).replace(/%2F/g, '/')
}

function common (ctx: S3Context): Omit<Listing, 'marker'> {
  const q = ctx.target.query
  return { prefix: q.get('prefix') || undefined, delimiter: q.get('delimiter') || undefined, maxKeys: maxKeysOf(ctx), encode: keyEncoder(ctx) }
}

async function fetchPage (ctx: S3Context, listing: Listing): Promise<{ contents: XmlElement[], prefixes: XmlElement[], truncated: boolean, nextMarker?: string, count: number }> {
  const bucket = bucketOf(ctx)
  if (listing.maxKeys === 0) {
    await ctx.namespace.headContainer(ctx.account, bucket)
    return { contents: [], prefixes: [], truncated: false, count: 0 }
  }
  const page = await ctx.namespace.listObjects(ctx.account, bucket, {
    prefix: listing.prefix, delimiter: listing.delimiter, marker: listing.marker, limit: listing.maxKeys
  })
  const fetchOwner = ctx.target.query.get('list-type') !== '2' || ctx.target.query.get('fetch-owner') === 'true'
  const contents: XmlElement[] = page.entries.map((e) => ['Contents', [
    ['Key', listing.encode(e.name)], ['LastModified', e.lastModified.toISOString()], ['ETag', `"${e.etag}"`],
    ['Size', e.size], ['StorageClass', 'STANDARD'], ...(fetchOwner ? [owner(ctx)] : [])
  ]])
  const prefixes: XmlElement[] = page.commonPrefixes.map((p) => ['CommonPrefixes', [['Prefix', listing.encode(p)]]])
  return { contents, prefixes, truncated: page.truncated, nextMarker: page.nextMarker, count: contents.length + prefixes.length }
}

export async function listObjectsV1 (ctx: S3Context): Promise<void> {
  const listing = { ...common(ctx), marker: ctx.target.query.get('marker') || undefined }
  const page = await fetchPage(ctx, listing)
  const encodingType = ctx.target.query.get('encoding-type') ?? undefined
  sendXml(ctx, 'ListBucketResult', [
    ['Name', bucketOf(ctx)], ['Prefix', listing.encode(listing.prefix ?? '')], ['Marker', listing.encode(listing.marker ?? '')],
    ...opt('NextMarker', page.truncated && page.nextMarker !== undefined ? listing.encode(page.nextMarker) : undefined),
    ['MaxKeys', listing.maxKeys], ...opt('Delimiter', listing.delimiter === undefined ? undefined : listing.encode(listing.delimiter)),
    ...opt('EncodingType', encodingType), ['IsTruncated', page.truncated], ...page.contents, ...page.prefixes
  ])
}

/** Continuation tokens are opaque to clients; ours carry the listing marker. */
function encodeToken (marker: string): string {
  return Buffer.from(TOKEN_PREFIX + marker, 'utf8').toString('base64url')
}

function decodeToken (token: string): string {
  const text = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : ''
  if (!text.startsWith(TOKEN_PREFIX)) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { details: { ArgumentName: 'continuation-token' } })
  return text.slice(TOKEN_PREFIX.length)
}

export async function listObjectsV2 (ctx: S3Context): Promise<void> {
  const q = ctx.target.query
  const token = q.get('continuation-token')
  const startAfter = q.get('start-after') || undefined
  const tokenMarker = token === null ? undefined : decodeToken(token)
  // The later of the two positions wins, so start-after still holds on later pages.
  const marker = tokenMarker !== undefined && (startAfter === undefined || Buffer.compare(Buffer.from(tokenMarker), Buffer.from(startAfter)) > 0)
    ? tokenMarker
    : startAfter
  const listing = { ...common(ctx), marker }
  const page = await fetchPage(ctx, listing)
  const encodingType = q.get('encoding-type') ?? undefined
  sendXml(ctx, 'ListBucketResult', [
    ['Name', bucketOf(ctx)], ['Prefix', listing.encode(listing.prefix ?? '')],
    ...opt('StartAfter', startAfter === undefined ? undefined : listing.encode(startAfter)),
    ...opt('ContinuationToken', token ?? undefined),
    ...opt('NextContinuationToken', page.truncated && page.nextMarker !== undefined ? encodeToken(page.nextMarker) : undefined),
    ['KeyCount', page.count], ['MaxKeys', listing.maxKeys],
    ...opt('Delimiter', listing.delimiter === undefined ? undefined : listing.encode(listing.delimiter)),
    ...opt('EncodingType', encodingType), ['IsTruncated', page.truncated], ...page.contents, ...page.prefixes
  ])
}
