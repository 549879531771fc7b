import type { ListingEntry as ProtoEntry, ListingEntry__Output as ProtoEntryOut } from '../proto/gen/ringstack/storage/v1/ListingEntry.ts'
import type { ListingInfo as ProtoInfo, ListingInfo__Output as ProtoInfoOut } from '../proto/gen/ringstack/storage/v1/ListingInfo.ts'
import type { ListReply as ProtoReply, ListReply__Output as ProtoReplyOut } from '../proto/gen/ringstack/storage/v1/ListReply.ts'
import { StorageError } from './errors.ts'
import type { ListingEntry, ListingInfo, ListItem, ListReply } from './listing-types.ts'

/** The wire forms of listing types, both ways; 64-bit fields travel as decimal strings. */
export function entryToProto (entry: ListingEntry): ProtoEntry {
  return {
    ...entry,
    timestamp: entry.timestamp.toString(),
    size: String(entry.size),
    objectCount: String(entry.objectCount),
    bytesUsed: String(entry.bytesUsed),
    statsTimestamp: entry.statsTimestamp.toString()
  }
}

export function entryFromProto (entry: ProtoEntryOut): ListingEntry {
  return {
    name: entry.name,
    timestamp: BigInt(entry.timestamp),
    deleted: entry.deleted,
    size: count(entry.size, 'size'),
    etag: entry.etag,
    contentType: entry.contentType,
    metadata: entry.metadata,
    objectCount: count(entry.objectCount, 'object count'),
    bytesUsed: count(entry.bytesUsed, 'bytes used'),
    statsTimestamp: BigInt(entry.statsTimestamp)
  }
}

export function infoToProto (info: ListingInfo): ProtoInfo {
  return {
    ...info,
    timestamp: info.timestamp.toString(),
    objectCount: String(info.objectCount),
    bytesUsed: String(info.bytesUsed),
    containerCount: String(info.containerCount),
    updated: info.updated.toString()
  }
}

export function infoFromProto (info: ProtoInfoOut): ListingInfo {
  return {
    exists: info.exists,
    deleted: info.deleted,
    timestamp: BigInt(info.timestamp),
    metadata: info.metadata,
    objectCount: Number(info.objectCount),
    bytesUsed: Number(info.bytesUsed),
    containerCount: Number(info.containerCount),
    updated: BigInt(info.updated)
  }
}

export function replyToProto (reply: ListReply): ProtoReply {
  return {
    truncated: reply.truncated,
    nextMarker: reply.nextMarker,
    items: reply.items.map((item) => item.kind === 'entry'
      ? { entry: entryToProto(item.entry) }
      : {
          prefix: {
            prefix: item.prefix.prefix,
            witness: item.prefix.witness === undefined ? null : entryToProto(item.prefix.witness),
            shadowed: item.prefix.shadowed.map(entryToProto),
            complete: item.prefix.complete
          }
        })
  }
}

export function replyFromProto (reply: ProtoReplyOut): ListReply {
  const items = reply.items.map((item): ListItem => {
    if (item.item === 'entry' && item.entry != null) return { kind: 'entry', entry: entryFromProto(item.entry) }
    if (item.item === 'prefix' && item.prefix != null) {
      const { prefix } = item
      return {
        kind: 'prefix',
        prefix: {
          prefix: prefix.prefix,
          witness: prefix.witness == null ? undefined : entryFromProto(prefix.witness),
          shadowed: prefix.shadowed.map(entryFromProto),
          complete: prefix.complete
        }
      }
    }
    throw new StorageError('Internal', 'empty list item')
  })
  return { items, truncated: reply.truncated, nextMarker: reply.nextMarker }
}

/** A non-negative count that fits a JS number exactly. */
function count (value: string, what: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) throw new StorageError('InvalidArgument', `bad ${what} ${value}`)
  return n
}
