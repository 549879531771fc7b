export { StorageNode, type StorageNodeComponents } from './storage-node.ts'
export { runStorageNode } from './main.ts'
export { loadNodeConfig, parseNodeConfig, type NodeConfig, type DeviceConfig } from './config.ts'
export { GrpcStorageNodeClient } from './node-client.ts'
export { StorageError, type StorageErrorCode } from './errors.ts'
export { HybridClock, stampToMillis, stampLogical } from './hlc.ts'
export { MAX_CHUNK_BYTES } from './proto.ts'
export { MAX_OBJECT_NAME_BYTES } from './object-name.ts'
export type {
  ObjectRef, ObjectInfo, PutOptions, PutStream, GetOptions, GetStream, StorageNodeClient
} from './types.ts'
export { MAX_LIST_LIMIT, compareNames } from './listing-order.ts'
export type {
  ListingRef, ListingInfo, ListingEntry, ListQuery, ListItem, ListReply, CommonPrefix, ListingNodeClient
} from './listing-types.ts'
