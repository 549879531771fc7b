/**
 * Names one listing replica on one device. `container` '' is the account's
 * listing of its containers; otherwise the container's listing of objects.
 * `partition` is the ring partition of /account or /account/container.
 */
export interface ListingRef {
  device: string
  partition: number
  account: string
  container: string
}

/** A listing's own record on one replica, with its counts. */
export interface ListingInfo {
  /** False when this replica never saw a put or delete of the listing. */
  exists: boolean
  deleted: boolean
  /** HLC stamp of the last put or delete (0n when !exists). */
  timestamp: bigint
  metadata: Record<string, string>
  /** Live objects (container: its live entries; account: the sum its containers report). */
  objectCount: number
  bytesUsed: number
  /** Live container entries (account listings only). */
  containerCount: number
  /** Newest entry stamp merged into this replica: more is more up to date. */
  updated: bigint
}

/**
 * One name in a listing, last write wins by `timestamp`. Objects fill size,
 * etag, contentType and metadata; the container entries of an account
 * listing fill objectCount and bytesUsed, which win by `statsTimestamp`
 * (0n = carries no counts).
 */
export interface ListingEntry {
  name: string
  timestamp: bigint
  deleted: boolean
  size: number
  etag: string
  contentType: string
  metadata: Record<string, string>
  objectCount: number
  bytesUsed: number
  statsTimestamp: bigint
}

export interface ListQuery {
  prefix?: string
  delimiter?: string
  /** Exclusive; a marker that is a common prefix skips that whole prefix. */
  marker?: string
  /** Exclusive. */
  endMarker?: string
  /** Items (entries + common prefixes) per reply, 1..MAX_LIST_LIMIT. */
  limit?: number
  includeDeleted?: boolean
  reverse?: boolean
}

/**
 * A rolled-up prefix. With includeDeleted it carries the evidence a client
 * needs to merge replicas exactly: the first live entry under it in scan
 * order (`witness`) and the tombstones met before that one (`shadowed`).
 */
export interface CommonPrefix {
  prefix: string
  witness?: ListingEntry
  shadowed: ListingEntry[]
  /** False when the reply ended inside the prefix before finding a witness. */
  complete: boolean
}

export type ListItem = { kind: 'entry', entry: ListingEntry } | { kind: 'prefix', prefix: CommonPrefix }

export interface ListReply {
  items: ListItem[]
  /** More may follow: ask again from nextMarker. */
  truncated: boolean
  /** The last name or common prefix this reply covered ('' when none). */
  nextMarker: string
}

export interface CallOptions {
  /** Abort the call when it has not finished by then (ms since epoch). */
  deadline?: number
}

/** What the listing client needs from one storage node. */
export interface ListingNodeClient {
  putListing (ref: ListingRef, timestamp: bigint, metadata: Record<string, string>,
    options?: CallOptions & { ifAbsent?: boolean }): Promise<ListingInfo>
  deleteListing (ref: ListingRef, timestamp: bigint, options?: CallOptions): Promise<ListingInfo>
  headListing (ref: ListingRef, options?: CallOptions): Promise<ListingInfo>
  updateEntries (ref: ListingRef, entries: ListingEntry[], options?: CallOptions): Promise<ListingInfo>
  list (ref: ListingRef, query: ListQuery, options?: CallOptions): Promise<ListReply>
}
