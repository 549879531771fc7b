import type { ContainerInfo } from '../../storage/index.ts'
import { removeBucket } from '../s3/bucket-removal.ts'
import { LIMITS } from './limits.ts'
import { inNameOrder, listingFormat, listingTime, listOptions, sendListing, type ListedItem } from './listing.ts'
import { scopeMetadataHeaders, updatedMetadata, xTimestamp } from './metadata.ts'
import type { SwiftContext } from './swift-api.ts'

function containerOf (ctx: SwiftContext): string {
  return ctx.target.container!
}

function containerHeaders (ctx: SwiftContext, info: ContainerInfo): void {
  ctx.reply.headers({
    'x-container-object-count': String(info.objectCount),
    'x-container-bytes-used': String(info.bytesUsed),
    'x-timestamp': xTimestamp(info.timestamp),
    'x-storage-policy': 'default',
    ...scopeMetadataHeaders(info.metadata, 'container')
  })
}

/** Creates the container (201) or updates an existing one's metadata (202). */
export async function containerPut (ctx: SwiftContext): Promise<void> {
  const container = containerOf(ctx)
  const metadata = updatedMetadata({}, ctx.headers, 'container')
  const { created } = await ctx.namespace.createContainer(ctx.target.account, container, { ...metadata, 'created-by': ctx.principal.userId })
  if (!created) {
    const info = await ctx.namespace.headContainer(ctx.target.account, container)
    await ctx.namespace.listings.putContainer(ctx.target.account, container, updatedMetadata(info.metadata, ctx.headers, 'container'))
  }
  ctx.reply.code(created ? 201 : 202).header('content-length', '0').send()
}

export async function containerHead (ctx: SwiftContext): Promise<void> {
  containerHeaders(ctx, await ctx.namespace.headContainer(ctx.target.account, containerOf(ctx)))
  ctx.reply.code(204).send()
}

export async function containerGet (ctx: SwiftContext): Promise<void> {
  const container = containerOf(ctx)
  const format = listingFormat(ctx)
  const options = listOptions(ctx, LIMITS.container_listing_limit)
  const info = await ctx.namespace.headContainer(ctx.target.account, container)
  const page = await ctx.namespace.listObjects(ctx.target.account, container, options)
  const items: ListedItem[] = [
    ...page.entries.map((e): ListedItem => ({
      name: e.name,
      fields: { hash: e.etag, bytes: e.size, content_type: e.contentType, last_modified: listingTime(e.lastModified) }
    })),
    ...page.commonPrefixes.map((p): ListedItem => ({ subdir: p }))
  ]
  containerHeaders(ctx, info)
  sendListing(ctx.reply, format, { element: 'container', name: container, item: 'object' }, inNameOrder(items, options.reverse === true))
}

/** Sets container metadata: X-Container-Meta-* added or replaced, empty or X-Remove-* removed. */
export async function containerPost (ctx: SwiftContext): Promise<void> {
  const container = containerOf(ctx)
  const info = await ctx.namespace.headContainer(ctx.target.account, container)
  await ctx.namespace.listings.putContainer(ctx.target.account, container, updatedMetadata(info.metadata, ctx.headers, 'container'))
  ctx.reply.code(204).send()
}

/** Deletes an empty container (409 otherwise, also while S3 multipart uploads into it are in progress). */
export async function containerDelete (ctx: SwiftContext): Promise<void> {
  await removeBucket(ctx.namespace, ctx.target.account, containerOf(ctx))
  ctx.reply.code(204).send()
}
