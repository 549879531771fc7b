import type { FastifyReply } from 'fastify'
import { MAX_LIST_LIMIT, type ListOptions } from '../../storage/index.ts'
import { escapeXml } from '../s3/xml-escape.ts'
import { SwiftError } from './errors.ts'
import { LIMITS } from './limits.ts'
import type { SwiftContext } from './swift-api.ts'

export type ListingFormat = 'text' | 'json' | 'xml'

/** One listed item: a container or object with its fields, or a rolled-up `subdir`. */
export type ListedItem = { name: string, fields: Record<string, string | number> } | { subdir: string }

/** The format asked for by `?format=` or else the Accept header (text by default), as Swift picks it. */
export function listingFormat (ctx: SwiftContext): ListingFormat {
  const format = ctx.target.query.get('format')?.toLowerCase()
  if (format === 'json' || format === 'xml' || format === 'plain') return format === 'plain' ? 'text' : format
  if (format !== undefined) throw new SwiftError('BadRequest', `Invalid format ${format}`)
  const accept = ctx.headers.accept ?? ''
  if (/application\/json/.test(accept)) return 'json'
  if (/(application|text)\/xml/.test(accept)) return 'xml'
  return 'text'
}

/** prefix, delimiter, marker, end_marker, limit and reverse of a listing request. */
export function listOptions (ctx: SwiftContext, maxLimit: number): ListOptions & { limit: number } {
  const q = ctx.target.query
  const raw = q.get('limit')
  let limit = maxLimit
  if (raw !== null) {
    limit = Number(raw)
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(limit)) throw new SwiftError('PreconditionFailed', 'Value of limit must be a positive integer')
    if (limit > maxLimit) throw new SwiftError('PreconditionFailed', `Maximum limit is ${maxLimit}`)
  }
  const delimiter = q.get('delimiter') || undefined
  if (delimiter !== undefined && [...delimiter].length !== 1) throw new SwiftError('PreconditionFailed', 'Bad delimiter')
  const reverse = ['true', '1', 'yes', 'on', 't', 'y'].includes((q.get('reverse') ?? '').toLowerCase())
  return {
    prefix: q.get('prefix') || undefined,
    delimiter,
    // Reverse listings walk down from marker to end_marker, as Swift's do.
    marker: q.get('marker') || undefined,
    endMarker: q.get('end_marker') || undefined,
    limit: Math.min(limit, MAX_LIST_LIMIT, LIMITS.container_listing_limit),
    reverse
  }
}

/** Entries and rolled-up prefixes come back apart; Swift interleaves them in name (UTF-8 byte) order. */
export function inNameOrder (items: ListedItem[], reverse: boolean): ListedItem[] {
  const key = (i: ListedItem): Buffer => Buffer.from('subdir' in i ? i.subdir : i.name)
  return items.sort((a, b) => Buffer.compare(key(a), key(b)) * (reverse ? -1 : 1))
}

/** Swift's listing time format: ISO 8601 with microseconds, no zone. */
export function listingTime (date: Date): string {
  return date.toISOString().replace('Z', '000').replace(/(\.\d{6})\d*$/, '$1')
}

/**
 * Sends a listing: names one per line (204 when empty), a JSON array, or
 * XML under `<root name="...">`, as Swift sends them.
 */
export function sendListing (reply: FastifyReply, format: ListingFormat, root: { element: string, name: string, item: string }, items: ListedItem[]): void {
  if (format === 'json') {
    reply.type('application/json; charset=utf-8').send(JSON.stringify(items.map((i) => 'subdir' in i ? { subdir: i.subdir } : { name: i.name, ...i.fields })))
    return
  }
  if (format === 'xml') {
    const body = items.map((i) => 'subdir' in i
      ? `<subdir name="${escapeXml(i.subdir)}"><name>${escapeXml(i.subdir)}</name></subdir>`
      : `<${root.item}><name>${escapeXml(i.name)}</name>${Object.entries(i.fields).map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('')}</${root.item}>`)
    reply.type('application/xml; charset=utf-8')
      .send(`<?xml version="1.0" encoding="UTF-8"?>\n<${root.element} name="${escapeXml(root.name)}">${body.join('')}</${root.element}>`)
    return
  }
  if (items.length === 0) {
    reply.code(204).type('text/plain; charset=utf-8').send()
    return
  }
  reply.type('text/plain; charset=utf-8').send(items.map((i) => `${'subdir' in i ? i.subdir : i.name}\n`).join(''))
}
