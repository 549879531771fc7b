export { Replicator, type ReplicatorComponents, type ReplicatorOptions, type ReplicatorStats } from './replicator.ts'
export { ReplicationMetrics } from './replication-metrics.ts'
