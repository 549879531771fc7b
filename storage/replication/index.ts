export { Replicator, type ReplicatorComponents, type ReplicatorOptions, type ReplicatorStats } from './replicator.ts'
export { ReplicationMetrics } from './replication-metrics.ts'
export { Auditor, type AuditorComponents, type AuditorOptions } from './auditor.ts'
