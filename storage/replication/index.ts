export { Replicator, type ReplicatorComponents, type ReplicatorOptions } from './replicator.ts'
export { ReplicationMetrics } from './replication-metrics.ts'
