import { createHash, type Hash } from 'node:crypto'
import type { IndexEntry } from './object-index.ts'

/**
 * What replicas compare: a partition's names grouped by the first two hex
 * digits of their hash (its "suffixes", as Swift calls them), one digest
 * per group over (hash, timestamp, tombstone) in hash order. Equal digests
 * mean equal newest versions; a differing suffix is then listed and
 * compared name by name.
 */
export const SUFFIX_DIGITS = 2

export interface PartitionEntry {
  hash: string
  timestamp: bigint
  deleted: boolean
}

export function suffixOf (hash: string): string {
  return hash.slice(0, SUFFIX_DIGITS)
}

/** Digest per suffix of entries arriving in hash order (the index's order). */
export async function digestPartition (entries: AsyncIterable<{ hash: string, entry: IndexEntry }> | Iterable<{ hash: string, entry: IndexEntry }>): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  let suffix: string | undefined
  let hash: Hash | undefined
  for await (const { hash: name, entry } of entries) {
    const next = suffixOf(name)
    if (next !== suffix) {
      if (suffix !== undefined) out.set(suffix, hash!.digest('hex'))
      suffix = next
      hash = createHash('md5')
    }
    hash!.update(`${name} ${entry.timestamp} ${entry.deleted ? 't' : 'd'}\n`)
  }
  if (suffix !== undefined) out.set(suffix, hash!.digest('hex'))
  return out
}

/** Suffixes whose local digest differs from (or is missing on) the remote side: what to push. */
export function differingSuffixes (local: ReadonlyMap<string, string>, remote: ReadonlyMap<string, string>): string[] {
  return [...local].filter(([suffix, digest]) => remote.get(suffix) !== digest).map(([suffix]) => suffix)
}
