import { credentials, type CallOptions as GrpcCallOptions, type Client, type ServiceError } from '@grpc/grpc-js'
import type { ListingStoreClient } from '../proto/gen/ringstack/storage/v1/ListingStore.ts'
import { StorageError } from './errors.ts'
import { fromServiceError } from './grpc-status.ts'
import { MAX_LIST_LIMIT } from './listing-order.ts'
import { entryToProto, infoFromProto, replyFromProto } from './listing-proto.ts'
import type { CallOptions, ListingEntry, ListingInfo, ListingNodeClient, ListingRef, ListQuery, ListReply } from './listing-types.ts'
import { loadListingStore } from './proto.ts'

/** The ListingStore calls of one node, on the channel its object client already has open. */
export class GrpcListingNodeClient implements ListingNodeClient {
  readonly address: string
  private readonly client: ListingStoreClient

  /** `sibling`: a client of the same node whose channel (and connection) this one shares. */
  constructor (address: string, sibling: Client) {
    this.address = address
    const ListingStore = loadListingStore()
    this.client = new ListingStore(address, credentials.createInsecure(), { channelOverride: sibling.getChannel() })
  }

  async putListing (ref: ListingRef, timestamp: bigint, metadata: Record<string, string>,
    options: CallOptions & { ifAbsent?: boolean } = {}): Promise<ListingInfo> {
    const request = { ref, timestamp: timestamp.toString(), metadata, ifAbsent: options.ifAbsent ?? false }
    return infoFromProto(await this.call((done) => this.client.PutListing(request, callOptions(options), done)))
  }

  async deleteListing (ref: ListingRef, timestamp: bigint, options: CallOptions = {}): Promise<ListingInfo> {
    const request = { ref, timestamp: timestamp.toString() }
    return infoFromProto(await this.call((done) => this.client.DeleteListing(request, callOptions(options), done)))
  }

  async headListing (ref: ListingRef, options: CallOptions = {}): Promise<ListingInfo> {
    return infoFromProto(await this.call((done) => this.client.HeadListing(ref, callOptions(options), done)))
  }

  async updateEntries (ref: ListingRef, entries: ListingEntry[], options: CallOptions = {}): Promise<ListingInfo> {
    const request = { ref, entries: entries.map(entryToProto) }
    return infoFromProto(await this.call((done) => this.client.UpdateEntries(request, callOptions(options), done)))
  }

  async list (ref: ListingRef, query: ListQuery, options: CallOptions = {}): Promise<ListReply> {
    const request = {
      ref,
      prefix: query.prefix ?? '',
      delimiter: query.delimiter ?? '',
      marker: query.marker ?? '',
      endMarker: query.endMarker ?? '',
      limit: query.limit ?? MAX_LIST_LIMIT,
      includeDeleted: query.includeDeleted ?? false,
      reverse: query.reverse ?? false
    }
    return replyFromProto(await this.call((done) => this.client.List(request, callOptions(options), done)))
  }

  private async call<T> (start: (done: (err: ServiceError | null, value?: T) => void) => void): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      start((err, value) => {
        if (err !== null) reject(fromServiceError(err, this.address))
        else if (value === undefined) reject(new StorageError('Internal', `${this.address}: empty reply`))
        else resolve(value)
      })
    })
  }
}

function callOptions (options: CallOptions): GrpcCallOptions {
  return options.deadline === undefined ? {} : { deadline: options.deadline }
}
