import { Counter, Registry } from 'prom-client'

/** What the replicating chunk client counts (on the registry it is given, or none). */
export class ChunkClientMetrics {
  private readonly ops: Counter<'op' | 'outcome'>
  private readonly replaced: Counter
  private readonly repairs: Counter

  constructor (registry: Registry = new Registry()) {
    const registers = [registry]
    this.ops = new Counter({
      name: 'ringstack_chunk_client_ops_total',
      help: 'Chunk store calls by op and outcome (ok or the error code).',
      labelNames: ['op', 'outcome'],
      registers
    })
    this.replaced = new Counter({
      name: 'ringstack_chunk_client_replaced_replicas_total',
      help: 'Chunk replicas that failed or timed out during a write and were replaced by the next candidate.',
      registers
    })
    this.repairs = new Counter({
      name: 'ringstack_chunk_client_repairs_total',
      help: 'Lagging chunk replicas brought up to date with the whole chunk during a write.',
      registers
    })
  }

  outcome (op: string, outcome: string): void {
    this.ops.inc({ op, outcome })
  }

  replacedReplica (): void {
    this.replaced.inc()
  }

  repaired (): void {
    this.repairs.inc()
  }
}
