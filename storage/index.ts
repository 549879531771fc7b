export { StorageNode, type StorageNodeComponents } from './storage-node.ts'
export { runStorageNode } from './main.ts'
export { loadNodeConfig, parseNodeConfig, type NodeConfig, type DeviceConfig } from './config.ts'
export { GrpcStorageNodeClient } from './node-client.ts'
export { StorageError, type StorageErrorCode } from './errors.ts'
export { HybridClock, stampToMillis } from './hlc.ts'
export { MAX_CHUNK_BYTES } from './proto.ts'
export { MAX_OBJECT_NAME_BYTES } from './object-name.ts'
export type {
  ObjectRef, ObjectInfo, PutOptions, PutStream, GetOptions, GetStream, StorageNodeClient
} from './types.ts'
export { MAX_LIST_LIMIT, compareNames } from './listing-order.ts'
export type {
  ListingRef, ListingInfo, ListingEntry, ListQuery, ListItem, ListReply, CommonPrefix, ListingNodeClient
} from './listing-types.ts'
export { Namespace, type NamespaceComponents, type NamespaceOptions } from './namespace.ts'
export {
  ObjectClient, NodePool, type ObjectClientComponents, type ObjectClientOptions, type ObjectPath, type PutObjectOptions,
  type ObjectRead, type ReadRange, type Placement, type PlacementSource
} from './object-client/index.ts'
export {
  ListingClient, type ListingClientComponents, type ListingClientOptions, type ContainerInfo, type AccountInfo, type ObjectListing,
  type ContainerListing, type ListOptions, type ListPage
} from './listing-client/index.ts'
export {
  ReplicatedChunkStore, ChunkNodeClient, ChunkStateError, FROZEN_EPOCH, compareVersions,
  type ReplicatedChunkStoreComponents, type ReplicatedChunkStoreOptions, type ChunkPlacement, type ChunkPlacementSource,
  type ChunkStore, type ChunkVersion, type ChunkState, type ChunkRef, type ChunkWrite, type ChunkWriteRequest
} from './chunks/index.ts'
