import type { AccountInfo, ContainerListing, ListPage } from '../../storage/index.ts'
import { LIMITS } from './limits.ts'
import { inNameOrder, listingFormat, listingTime, listOptions, sendListing, type ListedItem } from './listing.ts'
import { scopeMetadataHeaders, updatedMetadata, xTimestamp } from './metadata.ts'
import type { SwiftContext } from './swift-api.ts'

function accountHeaders (ctx: SwiftContext, info: AccountInfo): void {
  ctx.reply.headers({
    'x-account-container-count': String(info.containerCount),
    'x-account-object-count': String(info.objectCount),
    'x-account-bytes-used': String(info.bytesUsed),
    'x-timestamp': xTimestamp(info.timestamp),
    ...scopeMetadataHeaders(info.metadata, 'account')
  })
}

export async function accountHead (ctx: SwiftContext): Promise<void> {
  accountHeaders(ctx, await ctx.namespace.headAccount(ctx.target.account))
  ctx.reply.code(204).send()
}

/** S3 keeps multipart uploads in `<bucket>+uploads|+segments` containers; they are not the project's containers. */
function isHidden (name: string): boolean {
  return name.includes('+')
}

export async function accountGet (ctx: SwiftContext): Promise<void> {
  const format = listingFormat(ctx)
  const options = listOptions(ctx, LIMITS.account_listing_limit)
  const info = await ctx.namespace.headAccount(ctx.target.account)
  const items: ListedItem[] = []
  let marker = options.marker
  // Hidden containers are skipped, so a page may take more than one listing call to fill.
  for (;;) {
    const page: ListPage<ContainerListing> = await ctx.namespace.listContainers(ctx.target.account, { ...options, marker, limit: options.limit - items.length })
    for (const e of page.entries) {
      if (!isHidden(e.name)) items.push({ name: e.name, fields: { count: e.objectCount, bytes: e.bytesUsed, last_modified: listingTime(e.createdAt) } })
    }
    for (const p of page.commonPrefixes) items.push({ subdir: p })
    if (!page.truncated || items.length >= options.limit || page.nextMarker === undefined) break
    marker = page.nextMarker
  }
  accountHeaders(ctx, info)
  sendListing(ctx.reply, format, { element: 'account', name: ctx.target.account, item: 'container' }, inNameOrder(items, options.reverse === true))
}

export async function accountPost (ctx: SwiftContext): Promise<void> {
  const info = await ctx.namespace.headAccount(ctx.target.account)
  await ctx.namespace.setAccountMetadata(ctx.target.account, updatedMetadata(info.metadata, ctx.headers, 'account'))
  ctx.reply.code(204).send()
}
