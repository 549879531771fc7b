import { StorageError } from './errors.ts'
import type { ListingEntry, ListingInfo, ListingRef } from './listing-types.ts'
import { MAX_ACCOUNT_BYTES, MAX_CONTAINER_BYTES, MAX_OBJECT_NAME_BYTES } from './object-name.ts'

/**
 * Where listings sit in a device's listing DB. Keys are bytes, so LevelDB's
 * bytewise order is the UTF-8 order S3 lists in:
 *
 *   scope  = "<partition, 8 hex>/<account>/<container>"   (container '' for the account listing)
 *   record = scope 0x00 'r'          -> JSON ListingRecord
 *   entry  = scope 0x00 'e' <name>   -> JSON StoredEntry
 *
 * Account and container names hold neither NUL nor '/', and a container name
 * is never empty, so no scope is a prefix of another once 0x00 follows it:
 * one listing's entries are exactly one key range, and the partition prefix
 * keeps a partition's listings together for a replicator to walk.
 */
export interface ListingScope {
  ref: ListingRef
  kind: 'account' | 'container'
  /** scope 0x00 'e': every entry key starts with it. */
  entries: Buffer
  record: Buffer
}

/** With the u flag a surrogate pair is one code point, so only a lone half matches. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

const RECORD_TAG = Buffer.from([0x00, 0x72])
const ENTRIES_TAG = Buffer.from([0x00, 0x65])

export function listingScope (ref: ListingRef | null | undefined): ListingScope {
  if (ref == null) throw invalid('missing listing ref')
  if (ref.device === '') throw invalid('device name is empty')
  checkListingNames(ref.account, ref.container)
  const scope = Buffer.from(`${ref.partition.toString(16).padStart(8, '0')}/${ref.account}/${ref.container}`)
  return {
    ref,
    kind: ref.container === '' ? 'account' : 'container',
    entries: Buffer.concat([scope, ENTRIES_TAG]),
    record: Buffer.concat([scope, RECORD_TAG])
  }
}

/** Account and (unless '') container names; a '/' in either would let two listings share a scope. */
export function checkListingNames (account: string, container: string): void {
  checkName(account, 'account', MAX_ACCOUNT_BYTES)
  if (account.includes('/')) throw invalid('account name contains "/"')
  if (container !== '') {
    checkName(container, 'container', MAX_CONTAINER_BYTES)
    if (container.includes('/')) throw invalid('container name contains "/"')
  }
}

/** Longest entry name a scope takes: container names in accounts, object names in containers. */
export function maxEntryName (scope: ListingScope): number {
  return scope.kind === 'account' ? MAX_CONTAINER_BYTES : MAX_OBJECT_NAME_BYTES
}

export function checkName (name: string, what: string, maxBytes: number): void {
  if (name === '') throw invalid(`${what} name is empty`)
  if (name.includes('\0')) throw invalid(`${what} name contains NUL`)
  // A lone surrogate has no UTF-8 form: it would be stored as U+FFFD and lose its identity.
  if (LONE_SURROGATE.test(name)) throw invalid(`${what} name is not well-formed Unicode`)
  if (Buffer.byteLength(name) > maxBytes) throw invalid(`${what} name longer than ${maxBytes} bytes`)
}

export function entryKey (scope: ListingScope, name: string): Buffer {
  return Buffer.concat([scope.entries, Buffer.from(name)])
}

export function entryName (scope: ListingScope, key: Buffer): string {
  return key.toString('utf8', scope.entries.length)
}

/** The smallest key greater than every key that starts with `prefix`. */
export function successor (prefix: Buffer): Buffer {
  const out = Buffer.from(prefix)
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]!++
      return out.subarray(0, i + 1)
    }
  }
  throw new StorageError('Internal', 'no key follows an all-0xff prefix')
}

/** What a replica keeps of its listing, counts included. */
export interface ListingRecord {
  timestamp: bigint
  deleted: boolean
  metadata: Record<string, string>
  objectCount: number
  bytesUsed: number
  containerCount: number
  updated: bigint
}

export const EMPTY_RECORD: ListingRecord = Object.freeze({
  timestamp: 0n, deleted: false, metadata: {}, objectCount: 0, bytesUsed: 0, containerCount: 0, updated: 0n
})

export function infoOf (record: ListingRecord): ListingInfo {
  return { ...record, exists: record.timestamp > 0n }
}

export function encodeRecord (record: ListingRecord): string {
  return JSON.stringify({ ...record, timestamp: record.timestamp.toString(), updated: record.updated.toString() })
}

export function decodeRecord (value: string): ListingRecord {
  const raw = JSON.parse(value) as Omit<ListingRecord, 'timestamp' | 'updated'> & { timestamp: string, updated: string }
  return { ...raw, timestamp: BigInt(raw.timestamp), updated: BigInt(raw.updated) }
}

/** Compact on disk: defaults are left out, the name is in the key. */
interface StoredEntry {
  t: string
  d?: 1
  s?: number
  e?: string
  c?: string
  m?: Record<string, string>
  n?: number
  b?: number
  st?: string
}

export function encodeEntry (entry: ListingEntry): string {
  const stored: StoredEntry = { t: entry.timestamp.toString() }
  if (entry.deleted) stored.d = 1
  if (entry.size !== 0) stored.s = entry.size
  if (entry.etag !== '') stored.e = entry.etag
  if (entry.contentType !== '') stored.c = entry.contentType
  if (Object.keys(entry.metadata).length > 0) stored.m = entry.metadata
  if (entry.objectCount !== 0) stored.n = entry.objectCount
  if (entry.bytesUsed !== 0) stored.b = entry.bytesUsed
  if (entry.statsTimestamp !== 0n) stored.st = entry.statsTimestamp.toString()
  return JSON.stringify(stored)
}

export function decodeEntry (name: string, value: string): ListingEntry {
  const stored = JSON.parse(value) as StoredEntry
  return {
    name,
    timestamp: BigInt(stored.t),
    deleted: stored.d === 1,
    size: stored.s ?? 0,
    etag: stored.e ?? '',
    contentType: stored.c ?? '',
    metadata: stored.m ?? {},
    objectCount: stored.n ?? 0,
    bytesUsed: stored.b ?? 0,
    statsTimestamp: stored.st === undefined ? 0n : BigInt(stored.st)
  }
}

function invalid (message: string): StorageError {
  return new StorageError('InvalidArgument', message)
}
