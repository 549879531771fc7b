import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import type { ProtoGrpcType as ListingProto } from '../proto/gen/listing.ts'
import type { ProtoGrpcType } from '../proto/gen/storage.ts'
import type { ListingStoreDefinition } from '../proto/gen/ringstack/storage/v1/ListingStore.ts'
import type { ObjectStoreDefinition } from '../proto/gen/ringstack/storage/v1/ObjectStore.ts'
import { packagePath } from '../lib/package-path.ts'

/** Largest body chunk one PutObject message may carry, and GetObject sends. */
export const MAX_CHUNK_BYTES = 1024 * 1024

/**
 * gRPC's own message limit sits above MAX_CHUNK_BYTES so that an oversized
 * chunk reaches our handler and gets a clear InvalidArgument instead of a
 * bare RESOURCE_EXHAUSTED from the transport.
 */
export const MAX_MESSAGE_BYTES = 4 * MAX_CHUNK_BYTES

const PROTO_PATH = packagePath('proto', 'storage.proto')
const LISTING_PROTO_PATH = packagePath('proto', 'listing.proto')

const LOADER_OPTIONS: protoLoader.Options = { longs: String, enums: String, defaults: true, oneofs: true }

type ObjectStoreConstructor = ProtoGrpcType['ringstack']['storage']['v1']['ObjectStore']
type ListingStoreConstructor = ListingProto['ringstack']['storage']['v1']['ListingStore']

/** Parsed once per process: immutable definitions, and clients are made often. */
let storagePackage: Pick<ProtoGrpcType['ringstack']['storage']['v1'], 'ObjectStore'> & Pick<ListingProto['ringstack']['storage']['v1'], 'ListingStore'> | undefined

function loadPackage (): NonNullable<typeof storagePackage> {
  if (storagePackage === undefined) {
    const definition = protoLoader.loadSync([PROTO_PATH, LISTING_PROTO_PATH], LOADER_OPTIONS)
    storagePackage = (grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType & ListingProto).ringstack.storage.v1
  }
  return storagePackage
}

export function loadObjectStore (): ObjectStoreConstructor {
  return loadPackage().ObjectStore
}

export function objectStoreService (): ObjectStoreDefinition {
  return loadObjectStore().service
}

export function loadListingStore (): ListingStoreConstructor {
  return loadPackage().ListingStore
}

export function listingStoreService (): ListingStoreDefinition {
  return loadListingStore().service
}
