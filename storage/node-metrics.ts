import { Counter, Histogram, type Registry } from 'prom-client'

export type Method = 'PutObject' | 'GetObject' | 'HeadObject' | 'DeleteObject' |
  'PartitionDigest' | 'PartitionEntries' | 'NodeStatus' |
  'PutListing' | 'DeleteListing' | 'HeadListing' | 'UpdateEntries' | 'List'

/** What a storage node exposes on /metrics, registered on the registry it is given. */
export class NodeMetrics {
  private readonly requests: Counter<'method' | 'outcome'>
  private readonly latency: Histogram<'method'>
  private readonly bytesIn: Counter
  private readonly bytesOut: Counter
  private readonly corrupt: Counter<'device'>

  constructor (registry: Registry) {
    const registers = [registry]
    this.requests = new Counter({
      name: 'ringstack_storage_requests_total',
      help: 'Storage node gRPC calls by method and outcome (ok or the error code).',
      labelNames: ['method', 'outcome'],
      registers
    })
    this.latency = new Histogram({
      name: 'ringstack_storage_request_duration_seconds',
      help: 'Storage node gRPC call duration, whole stream included.',
      labelNames: ['method'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers
    })
    this.bytesIn = new Counter({
      name: 'ringstack_storage_bytes_received_total',
      help: 'Object body bytes received by PutObject.',
      registers
    })
    this.bytesOut = new Counter({
      name: 'ringstack_storage_bytes_sent_total',
      help: 'Object body bytes sent by GetObject.',
      registers
    })
    this.corrupt = new Counter({
      name: 'ringstack_storage_corrupt_replicas_total',
      help: 'Replica files that failed a checksum and were quarantined.',
      labelNames: ['device'],
      registers
    })
  }

  /** Starts timing a call; the returned function records its end. */
  begin (method: Method): (outcome: string) => void {
    const stop = this.latency.startTimer({ method })
    return (outcome) => {
      stop()
      this.requests.inc({ method, outcome })
    }
  }

  received (bytes: number): void {
    this.bytesIn.inc(bytes)
  }

  sent (bytes: number): void {
    this.bytesOut.inc(bytes)
  }

  corruptReplica (device: string): void {
    this.corrupt.inc({ device })
  }
}
