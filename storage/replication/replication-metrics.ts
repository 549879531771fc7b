import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** The replicator's and the auditor's counters on the node's /metrics. */
export class ReplicationMetrics {
  private readonly pushes: Counter<'kind'>
  private readonly bytes: Counter
  private readonly releases: Counter
  private readonly reclaims: Counter
  private readonly auditedBytes: Counter
  private readonly corrupt: Counter
  private readonly passes: Histogram
  private readonly handoffs: Gauge

  constructor (registry: Registry) {
    this.pushes = new Counter({ name: 'ringstack_replication_pushed_total', help: 'Object versions pushed to other replicas', labelNames: ['kind'], registers: [registry] })
    this.bytes = new Counter({ name: 'ringstack_replication_pushed_bytes_total', help: 'Object bytes pushed to other replicas', registers: [registry] })
    this.releases = new Counter({ name: 'ringstack_replication_released_total', help: 'Handoff replicas removed once their primaries held them', registers: [registry] })
    this.reclaims = new Counter({ name: 'ringstack_replication_reclaimed_tombstones_total', help: 'Tombstones removed past the reclaim age', registers: [registry] })
    this.auditedBytes = new Counter({ name: 'ringstack_audit_bytes_total', help: 'Replica bytes read and verified by the auditor', registers: [registry] })
    this.corrupt = new Counter({ name: 'ringstack_audit_corrupt_total', help: 'Corrupt replicas the auditor found (and quarantined)', registers: [registry] })
    this.passes = new Histogram({ name: 'ringstack_replication_pass_seconds', help: 'Duration of replication passes', buckets: [0.1, 1, 10, 60, 600], registers: [registry] })
    this.handoffs = new Gauge({ name: 'ringstack_replication_handoff_partitions', help: 'Partitions held here as a handoff at the last pass', registers: [registry] })
  }

  pushed (kind: 'object' | 'tombstone', bytes: number): void {
    this.pushes.inc({ kind })
    this.bytes.inc(bytes)
  }

  released (count: number): void {
    this.releases.inc(count)
  }

  reclaimed (count: number): void {
    this.reclaims.inc(count)
  }

  audited (bytes: number): void {
    this.auditedBytes.inc(bytes)
  }

  corruptFound (): void {
    this.corrupt.inc()
  }

  passDone (seconds: number): void {
    this.passes.observe(seconds)
  }

  handoffPartitions (count: number): void {
    this.handoffs.set(count)
  }
}
