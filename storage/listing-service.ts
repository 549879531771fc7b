import type { ListingStoreHandlers } from '../proto/gen/ringstack/storage/v1/ListingStore.ts'
import type { ListRequest__Output } from '../proto/gen/ringstack/storage/v1/ListRequest.ts'
import type { ListingEntry__Output } from '../proto/gen/ringstack/storage/v1/ListingEntry.ts'
import type { CallTracker } from './call-tracker.ts'
import type { Device } from './device.ts'
import { StorageError } from './errors.ts'
import { checkName, listingScope, maxEntryName, type ListingScope } from './listing-layout.ts'
import { MAX_LIST_LIMIT } from './listing-order.ts'
import { entryFromProto, infoToProto, replyToProto } from './listing-proto.ts'
import type { ScanQuery } from './listing-scan.ts'
import type { ListingStore } from './listing-store.ts'
import type { ListingEntry } from './listing-types.ts'
import { MAX_OBJECT_NAME_BYTES } from './object-name.ts'
import { checkMetadata, writeTimestamp } from './request-checks.ts'

/** Entries one UpdateEntries call may carry (a DeleteObjects batch is 1000 keys). */
export const MAX_UPDATE_ENTRIES = 1000

export interface ListingServiceComponents {
  devices: ReadonlyMap<string, Device>
  calls: CallTracker
}

/** The ListingStore gRPC handlers: request checks on top of each device's listings. */
export class ListingService {
  private readonly devices: ReadonlyMap<string, Device>
  private readonly calls: CallTracker

  constructor (components: ListingServiceComponents) {
    this.devices = components.devices
    this.calls = components.calls
  }

  handlers (): ListingStoreHandlers {
    return {
      PutListing: (call, callback) => {
        this.calls.unary('PutListing', call, callback, async () => {
          const { scope, store } = this.open(call.request.ref)
          checkMetadata(call.request.metadata)
          const timestamp = writeTimestamp(call.request.timestamp)
          return infoToProto(await store.put(scope, timestamp, call.request.metadata, call.request.ifAbsent))
        })
      },
      DeleteListing: (call, callback) => {
        this.calls.unary('DeleteListing', call, callback, async () => {
          const { scope, store } = this.open(call.request.ref)
          return infoToProto(await store.delete(scope, writeTimestamp(call.request.timestamp)))
        })
      },
      HeadListing: (call, callback) => {
        this.calls.unary('HeadListing', call, callback, () => {
          const { scope, store } = this.open(call.request)
          return infoToProto(store.head(scope))
        })
      },
      UpdateEntries: (call, callback) => {
        this.calls.unary('UpdateEntries', call, callback, async () => {
          const { scope, store } = this.open(call.request.ref)
          return infoToProto(await store.update(scope, checkEntries(scope, call.request.entries)))
        })
      },
      List: (call, callback) => {
        this.calls.unary('List', call, callback, async () => {
          const { scope, store } = this.open(call.request.ref)
          return replyToProto(await store.list(scope, scanQuery(call.request)))
        })
      }
    }
  }

  private open (ref: Parameters<typeof listingScope>[0]): { scope: ListingScope, store: ListingStore } {
    const scope = listingScope(ref)
    const device = this.devices.get(scope.ref.device)
    if (device === undefined) throw new StorageError('UnknownDevice', `device "${scope.ref.device}" is not on this node`)
    return { scope, store: device.listings }
  }
}

function checkEntries (scope: ListingScope, entries: ListingEntry__Output[]): ListingEntry[] {
  if (entries.length === 0) throw new StorageError('InvalidArgument', 'no entries')
  if (entries.length > MAX_UPDATE_ENTRIES) {
    throw new StorageError('InvalidArgument', `${entries.length} entries, at most ${MAX_UPDATE_ENTRIES} per call`)
  }
  return entries.map((raw) => {
    checkName(raw.name, 'entry', maxEntryName(scope))
    checkMetadata(raw.metadata)
    const entry = entryFromProto(raw)
    writeTimestamp(raw.timestamp)
    return entry
  })
}

function scanQuery (request: ListRequest__Output): ScanQuery {
  const limit = request.limit
  if (limit < 1 || limit > MAX_LIST_LIMIT) throw new StorageError('InvalidArgument', `limit ${limit} is not in 1..${MAX_LIST_LIMIT}`)
  for (const [what, value] of [['prefix', request.prefix], ['delimiter', request.delimiter],
    ['marker', request.marker], ['end marker', request.endMarker]] as const) {
    if (value !== '') checkName(value, what, MAX_OBJECT_NAME_BYTES)
  }
  return {
    prefix: request.prefix,
    delimiter: request.delimiter,
    marker: request.marker,
    endMarker: request.endMarker,
    limit,
    includeDeleted: request.includeDeleted,
    reverse: request.reverse
  }
}
