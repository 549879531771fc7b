import { Counter, Histogram, type Registry } from 'prom-client'

export type ChunkOp = 'write' | 'read' | 'scan' | 'fence' | 'flush' | 'drop'

/** What a storage node's chunk service exposes on /metrics. */
export class ChunkMetrics {
  private readonly ops: Counter<'op' | 'outcome'>
  private readonly latency: Histogram<'op'>
  private readonly bytes: Counter<'op'>
  private readonly sessions: Counter

  constructor (registry: Registry) {
    const registers = [registry]
    this.ops = new Counter({
      name: 'ringstack_chunk_ops_total',
      help: 'Chunk operations served, by op and outcome (ok or the error code).',
      labelNames: ['op', 'outcome'],
      registers
    })
    this.latency = new Histogram({
      name: 'ringstack_chunk_op_duration_seconds',
      help: 'Chunk operation duration on the node, from arrival to answer.',
      labelNames: ['op'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers
    })
    this.bytes = new Counter({
      name: 'ringstack_chunk_bytes_total',
      help: 'Chunk data bytes written and read.',
      labelNames: ['op'],
      registers
    })
    this.sessions = new Counter({
      name: 'ringstack_chunk_sessions_total',
      help: 'Chunk sessions opened by clients.',
      registers
    })
  }

  /** Starts timing an op; the returned function records its end. */
  begin (op: ChunkOp): (outcome: string, bytes?: number) => void {
    const stop = this.latency.startTimer({ op })
    return (outcome, bytes) => {
      stop()
      this.ops.inc({ op, outcome })
      if (bytes !== undefined && bytes > 0) this.bytes.inc({ op }, bytes)
    }
  }

  sessionOpened (): void {
    this.sessions.inc()
  }
}
