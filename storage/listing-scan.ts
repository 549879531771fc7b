import type { IteratorBounds, ListingDb } from './listing-db.ts'
import { decodeEntry, entryKey, entryName, successor, type ListingScope } from './listing-layout.ts'
import type { CommonPrefix, ListingEntry, ListItem, ListReply } from './listing-types.ts'

/** A List request with defaults filled in and limits checked. */
export interface ScanQuery {
  prefix: string
  delimiter: string
  marker: string
  endMarker: string
  limit: number
  includeDeleted: boolean
  reverse: boolean
}

/** Keeps one reply well under the gRPC message limit. */
const MAX_REPLY_BYTES = 2 * 1024 * 1024
/** Bounds the work of one call when tombstones hide most of a range. */
const MAX_SCANNED = 20_000

/**
 * One page of a listing replica. A name whose remainder after the prefix
 * holds the delimiter rolls up into a common prefix; once a prefix is
 * decided the iterator seeks past its whole subtree instead of reading it.
 * Without includeDeleted a prefix needs a live entry under it, so tombstones
 * are read until one turns up; with it, the prefix is reported with that
 * live witness and the tombstones before it, which is what lets a client
 * decide the prefix across replicas that disagree.
 */
export async function scanListing (db: ListingDb, scope: ListingScope, query: ScanQuery): Promise<ListReply> {
  const bounds = rangeOf(scope, query)
  if (bounds === undefined) return { items: [], truncated: false, nextMarker: '' }
  const page = new Page(query.limit)
  const iterator = db.iterator(bounds)
  let pending: CommonPrefix | undefined
  let skip: string | undefined
  let truncated = false
  try {
    for (;;) {
      if (page.full(pending !== undefined)) {
        truncated = true
        break
      }
      const row = await iterator.next()
      if (row === undefined) break
      page.scanned++
      const [key, value] = row
      const name = entryName(scope, key)
      // A reverse seek lands on the prefix's own name, which belongs to the subtree just decided.
      if (skip !== undefined && name.startsWith(skip)) continue
      const prefix = rollUp(query, name)
      if (pending !== undefined && pending.prefix !== prefix) {
        // The subtree ended without a live entry: report its tombstones.
        pending.complete = true
        page.add({ kind: 'prefix', prefix: pending }, 0)
        pending = undefined
        if (page.full(false)) {
          truncated = true
          break
        }
      }
      const entry = decodeEntry(name, value)
      const size = key.length + value.length
      if (prefix === undefined) {
        page.nextMarker = name
        if (!entry.deleted || query.includeDeleted) page.add({ kind: 'entry', entry }, size)
        continue
      }
      if (entry.deleted) {
        page.nextMarker = name
        if (query.includeDeleted) {
          pending ??= { prefix, shadowed: [], complete: false }
          pending.shadowed.push(entry)
          page.bytes += size
        }
        continue
      }
      const witness: ListingEntry | undefined = query.includeDeleted ? entry : undefined
      page.add({ kind: 'prefix', prefix: { prefix, witness, shadowed: pending?.shadowed ?? [], complete: true } }, size)
      pending = undefined
      page.nextMarker = prefix
      skip = prefix
      const subtree = entryKey(scope, prefix)
      iterator.seek(query.reverse ? subtree : successor(subtree))
    }
    if (pending !== undefined) {
      pending.complete = !truncated
      page.add({ kind: 'prefix', prefix: pending }, 0)
    }
  } finally {
    await iterator.close()
  }
  return { items: page.items, truncated, nextMarker: page.nextMarker }
}

class Page {
  readonly items: ListItem[] = []
  nextMarker = ''
  bytes = 0
  scanned = 0
  private readonly limit: number

  constructor (limit: number) {
    this.limit = limit
  }

  /** `open`: a prefix is being gathered and still needs its slot. */
  full (open: boolean): boolean {
    return this.items.length + (open ? 1 : 0) >= this.limit || this.bytes >= MAX_REPLY_BYTES || this.scanned >= MAX_SCANNED
  }

  add (item: ListItem, bytes: number): void {
    this.items.push(item)
    this.bytes += bytes
  }
}

/** The common prefix `name` rolls up into, if any. */
export function rollUp (query: { prefix: string, delimiter: string }, name: string): string | undefined {
  if (query.delimiter === '') return undefined
  const at = name.indexOf(query.delimiter, query.prefix.length)
  return at === -1 ? undefined : name.slice(0, at + query.delimiter.length)
}

/** The key range a query covers: prefix, markers and direction together; undefined when empty. */
function rangeOf (scope: ListingScope, query: ScanQuery): IteratorBounds | undefined {
  let low = { key: entryKey(scope, query.prefix), inclusive: true }
  let high = successor(low.key)
  const above = (key: Buffer, inclusive: boolean): void => {
    const order = Buffer.compare(key, low.key)
    if (order > 0 || (order === 0 && !inclusive)) low = { key, inclusive }
  }
  const below = (key: Buffer): void => {
    if (Buffer.compare(key, high) < 0) high = key
  }
  if (query.marker !== '') {
    const key = entryKey(scope, query.marker)
    if (query.reverse) below(key)
    // A marker that is itself a common prefix (where the last page ended) skips its subtree.
    else if (rollUp(query, query.marker) === query.marker && query.marker.startsWith(query.prefix)) above(successor(key), true)
    else above(key, false)
  }
  if (query.endMarker !== '') {
    const key = entryKey(scope, query.endMarker)
    if (query.reverse) above(key, false)
    else below(key)
  }
  if (Buffer.compare(low.key, high) >= 0) return undefined
  return low.inclusive
    ? { gte: low.key, lt: high, reverse: query.reverse }
    : { gt: low.key, lt: high, reverse: query.reverse }
}
