export { ObjectClient, type ObjectClientComponents, type ObjectClientOptions, type ObjectPath, type PutObjectOptions } from './object-client.ts'
export { NodePool, type NodeClientFactory } from './node-pool.ts'
export type { Placement, PlacementDevice, PlacementSource } from './placement.ts'
export type { ObjectRead, ReadRange } from './replicated-read.ts'
