import { StorageError } from './errors.ts'
import { ListingDb, type ListingTx } from './listing-db.ts'
import {
  decodeEntry, decodeRecord, EMPTY_RECORD, encodeEntry, encodeRecord, entryKey, infoOf,
  type ListingRecord, type ListingScope
} from './listing-layout.ts'
import { mergeEntry } from './listing-order.ts'
import { scanListing, type ScanQuery } from './listing-scan.ts'
import type { ListingEntry, ListingInfo, ListReply } from './listing-types.ts'

/**
 * The listings of one device (Swift's account and container DBs, in one
 * LevelDB). A listing's record (existence, metadata, counts) and its entries
 * change in one synced transaction, so the counts always equal what the
 * entries say: they are kept incrementally, never recounted.
 *
 * Tombstones stay with their timestamps, so a late, older update cannot
 * bring a name back. Reclaiming them (after a reclaim age, once every
 * replica has them) is the replicator's job; nothing here deletes a key yet.
 */
export class ListingStore {
  private readonly db: ListingDb

  private constructor (db: ListingDb) {
    this.db = db
  }

  static async open (path: string): Promise<ListingStore> {
    return new ListingStore(await ListingDb.open(path))
  }

  head (scope: ListingScope): ListingInfo {
    return infoOf(readRecord(this.db.get(scope.record)))
  }

  /** Creates or revives the listing; with ifAbsent a live one is left as it is. */
  async put (scope: ListingScope, timestamp: bigint, metadata: Record<string, string>, ifAbsent: boolean): Promise<ListingInfo> {
    return await this.db.transact((tx) => {
      const record = readRecord(tx.get(scope.record))
      if (ifAbsent && record.timestamp > 0n && !record.deleted) return infoOf(record)
      assertNewer(record, timestamp)
      return writeRecord(tx, scope, { ...record, timestamp, deleted: false, metadata })
    })
  }

  async delete (scope: ListingScope, timestamp: bigint): Promise<ListingInfo> {
    return await this.db.transact((tx) => {
      const record = readRecord(tx.get(scope.record))
      assertNewer(record, timestamp)
      const live = scope.kind === 'account' ? record.containerCount : record.objectCount
      if (live > 0) throw new StorageError('NotEmpty', `listing holds ${live} live entries`)
      return writeRecord(tx, scope, { ...record, timestamp, deleted: true, metadata: {} })
    })
  }

  /** Merges entries (last write wins per name) and keeps the counts exact. */
  async update (scope: ListingScope, entries: ListingEntry[]): Promise<ListingInfo> {
    return await this.db.transact((tx) => {
      const record = { ...readRecord(tx.get(scope.record)) }
      for (const incoming of entries) {
        const key = entryKey(scope, incoming.name)
        const stored = tx.get(key)
        const previous = stored === undefined ? undefined : decodeEntry(incoming.name, stored)
        const merged = mergeEntry(previous, incoming)
        if (merged === undefined) continue
        const before = weight(scope, previous)
        const after = weight(scope, merged)
        record.objectCount += after.objects - before.objects
        record.bytesUsed += after.bytes - before.bytes
        record.containerCount += after.containers - before.containers
        const stamp = merged.timestamp > merged.statsTimestamp ? merged.timestamp : merged.statsTimestamp
        if (stamp > record.updated) record.updated = stamp
        tx.put(key, encodeEntry(merged))
      }
      return writeRecord(tx, scope, record)
    })
  }

  async list (scope: ListingScope, query: ScanQuery): Promise<ListReply> {
    return await scanListing(this.db, scope, query)
  }

  async close (): Promise<void> {
    await this.db.close()
  }
}

/** What one entry adds to its listing's counts. */
function weight (scope: ListingScope, entry: ListingEntry | undefined): { objects: number, bytes: number, containers: number } {
  if (entry === undefined || entry.deleted) return { objects: 0, bytes: 0, containers: 0 }
  return scope.kind === 'account'
    ? { objects: entry.objectCount, bytes: entry.bytesUsed, containers: 1 }
    : { objects: 1, bytes: entry.size, containers: 0 }
}

function readRecord (value: string | undefined): ListingRecord {
  return value === undefined ? EMPTY_RECORD : decodeRecord(value)
}

function writeRecord (tx: ListingTx, scope: ListingScope, record: ListingRecord): ListingInfo {
  tx.put(scope.record, encodeRecord(record))
  return infoOf(record)
}

function assertNewer (record: ListingRecord, timestamp: bigint): void {
  if (timestamp <= record.timestamp) {
    throw new StorageError('Conflict', `listing changed at ${record.timestamp} (write at ${timestamp})`)
  }
}
