import type { ListingEntry } from './listing-types.ts'

/**
 * Order of names in listings: by their UTF-8 bytes, as S3 orders keys and as
 * LevelDB's bytewise comparator stores them. That is code point order, which
 * differs from JS's UTF-16 `<` only where a surrogate pair (U+10000 and up)
 * meets U+E000..U+FFFF; comparing code units with surrogates lifted above
 * that block gives the byte order without encoding anything.
 */
export function compareNames (a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return lift(x) - lift(y)
  }
  return a.length - b.length
}

function lift (unit: number): number {
  if (unit < 0xd800) return unit
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800
}

/**
 * The newer of two versions of a name: its body (existence, size, etag, ...)
 * by timestamp, its counts by statsTimestamp. Undefined when nothing changes,
 * which makes a replayed update a no-op.
 */
export function mergeEntry (previous: ListingEntry | undefined, incoming: ListingEntry): ListingEntry | undefined {
  if (previous === undefined) return incoming
  const body = incoming.timestamp > previous.timestamp ? incoming : previous
  const stats = incoming.statsTimestamp > previous.statsTimestamp ? incoming : previous
  if (body === previous && stats === previous) return undefined
  return { ...body, objectCount: stats.objectCount, bytesUsed: stats.bytesUsed, statsTimestamp: stats.statsTimestamp }
}

/** Newest by timestamp; the first of equals. */
export function newerEntry<T extends { timestamp: bigint }> (a: T, b: T): T {
  return b.timestamp > a.timestamp ? b : a
}

/** Largest page one List call may ask for. */
export const MAX_LIST_LIMIT = 10_000
