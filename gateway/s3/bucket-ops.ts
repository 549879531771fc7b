import { stampToMillis } from '../../storage/index.ts'
import { validateBucketName } from './bucket-names.ts'
import { S3Error } from './errors.ts'
import { removeBucket } from './bucket-removal.ts'
import { readDocument } from './request-body.ts'
import type { S3Context } from './s3-api.ts'
import { opt, parseXml, xmlDocument, xmlTextDocument, type XmlElement } from './xml.ts'

export function bucketOf (ctx: S3Context): string {
  return ctx.target.bucket!
}

export function owner (ctx: S3Context): XmlElement {
  return ['Owner', [['ID', ctx.auth.principal], ['DisplayName', ctx.auth.principal]]]
}

export function sendXml (ctx: S3Context, root: string, children: XmlElement[]): void {
  ctx.reply.type('application/xml').send(xmlDocument(root, children))
}

export async function listBuckets (ctx: S3Context): Promise<void> {
  const q = ctx.target.query
  const prefix = q.get('prefix') ?? undefined
  const maxBuckets = q.has('max-buckets') ? Number(q.get('max-buckets')) : undefined
  if (maxBuckets !== undefined && (!Number.isInteger(maxBuckets) || maxBuckets < 1 || maxBuckets > 10000)) {
    throw new S3Error('InvalidArgument', 'max-buckets must be an integer from 1 to 10000')
  }
  const limit = maxBuckets ?? Number.POSITIVE_INFINITY
  const buckets: XmlElement[] = []
  let marker = q.get('continuation-token') ?? undefined
  // The token is the last bucket returned; it is known to be truncated only once one more bucket is seen.
  let last: string | undefined
  let truncated = false
  scan: for (;;) {
    const page = await ctx.namespace.listContainers(ctx.account, { prefix, marker, limit: Math.min(1000, limit + 1) })
    for (const entry of page.entries) {
      // Multipart parts live in hidden companion containers; they are not buckets.
      if (entry.name.includes('+')) continue
      if (buckets.length === limit) {
        truncated = true
        break scan
      }
      buckets.push(['Bucket', [['Name', entry.name], ['CreationDate', entry.createdAt.toISOString()]]])
      last = entry.name
    }
    if (!page.truncated) break
    marker = page.nextMarker
  }
  sendXml(ctx, 'ListAllMyBucketsResult', [
    owner(ctx),
    ['Buckets', buckets],
    ...opt('ContinuationToken', truncated ? last : undefined),
    ...opt('Prefix', prefix)
  ])
}

export async function createBucket (ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx)
  validateBucketName(bucket)
  const body = await readDocument(ctx)
  if (body.trim() !== '') {
    const config = parseXml(body, 'CreateBucketConfiguration')
    const location = config.LocationConstraint
    if (location !== undefined && typeof location !== 'string') throw new S3Error('MalformedXML')
    // One region per endpoint: a bucket cannot be made elsewhere through it.
    if (location !== undefined && location !== '' && location !== ctx.region) {
      throw new S3Error('IllegalLocationConstraintException', `The ${location} location constraint is incompatible for the region specific endpoint this request was sent to.`)
    }
  }
  const { created } = await ctx.namespace.createContainer(ctx.account, bucket, { 'created-by': ctx.auth.principal })
  if (!created) throw new S3Error('BucketAlreadyOwnedByYou', undefined, { details: { BucketName: bucket } })
  ctx.reply.header('location', `/${bucket}`).send()
}

export async function headBucket (ctx: S3Context): Promise<void> {
  await ctx.namespace.headContainer(ctx.account, bucketOf(ctx))
  ctx.reply.header('x-amz-bucket-region', ctx.region).send()
}

export async function deleteBucket (ctx: S3Context): Promise<void> {
  await removeBucket(ctx.namespace, ctx.account, bucketOf(ctx))
  ctx.reply.code(204).send()
}

export async function getBucketLocation (ctx: S3Context): Promise<void> {
  await ctx.namespace.headContainer(ctx.account, bucketOf(ctx))
  // us-east-1 is reported as an empty constraint, as S3 does.
  ctx.reply.type('application/xml').send(xmlTextDocument('LocationConstraint', ctx.region === 'us-east-1' ? '' : ctx.region))
}

export async function getBucketVersioning (ctx: S3Context): Promise<void> {
  await ctx.namespace.headContainer(ctx.account, bucketOf(ctx))
  sendXml(ctx, 'VersioningConfiguration', [])
}

/** When a write happened, from its HLC stamp. */
export function lastModifiedOf (timestamp: bigint): Date {
  return new Date(stampToMillis(timestamp))
}
