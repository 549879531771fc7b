import type { ListingEntry } from '../../storage/index.ts'

/**
 * The listing semantics spelled out the slow, obvious way: sort every name
 * by its UTF-8 bytes, filter, roll up. Tests compare the real thing to it.
 */
export interface ReferenceQuery {
  prefix?: string
  delimiter?: string
  marker?: string
  endMarker?: string
  limit?: number
  reverse?: boolean
}

export type ReferenceItem = { name: string } | { prefix: string }

export function byteOrder (a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

export function referenceList (names: Iterable<string>, query: ReferenceQuery): { items: ReferenceItem[], truncated: boolean } {
  const { prefix = '', delimiter = '', marker = '', endMarker = '', limit = Infinity, reverse = false } = query
  const sorted = [...names].filter((n) => n.startsWith(prefix)).sort(byteOrder)
  if (reverse) sorted.reverse()
  const after = (n: string): boolean => marker === '' || (reverse ? byteOrder(n, marker) < 0 : byteOrder(n, marker) > 0)
  const before = (n: string): boolean => endMarker === '' || (reverse ? byteOrder(n, endMarker) > 0 : byteOrder(n, endMarker) < 0)
  const items: ReferenceItem[] = []
  let lastPrefix: string | undefined
  for (const name of sorted) {
    if (!after(name) || !before(name)) continue
    const at = delimiter === '' ? -1 : name.indexOf(delimiter, prefix.length)
    if (at === -1) {
      items.push({ name })
      continue
    }
    const common = name.slice(0, at + delimiter.length)
    if (common === marker || common === lastPrefix) continue
    lastPrefix = common
    items.push({ prefix: common })
  }
  return { items: items.slice(0, limit), truncated: items.length > limit }
}

/** Random names over an alphabet that mixes ASCII, delimiters, BMP and astral characters. */
export function randomNames (count: number, seed: number): string[] {
  const alphabet = ['a', 'b', 'c', '/', '/', '-', '.', 'é', 'ß', '中', '\uE000', '\uFFFD', '😀', '𝄞', ' ', '~']
  let x = seed
  const next = (): number => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
  const names = new Set<string>()
  while (names.size < count) {
    const length = 1 + Math.floor(next() * 8)
    let name = ''
    for (let i = 0; i < length; i++) name += alphabet[Math.floor(next() * alphabet.length)]!
    names.add(name)
  }
  return [...names]
}

export function objectEntry (name: string, timestamp: bigint, fields: Partial<ListingEntry> = {}): ListingEntry {
  return {
    name,
    timestamp,
    deleted: false,
    size: 0,
    etag: '',
    contentType: '',
    metadata: {},
    objectCount: 0,
    bytesUsed: 0,
    statsTimestamp: 0n,
    ...fields
  }
}
