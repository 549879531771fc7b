import type { Registry } from 'prom-client'
import type { Logger } from '../../lib/logger.ts'
import { StorageError } from '../errors.ts'
import { Candidates } from '../object-client/candidates.ts'
import { NodePool } from '../object-client/node-pool.ts'
import { addressOf, type PlacementDevice } from '../object-client/placement.ts'
import { checkChunkSize, checkIndex, checkLayer, checkRange, checkWriteVersion } from './chunk-layout.ts'
import { FrameCodec } from './data-frames.ts'
import { ChunkNodeClient } from './chunk-node-client.ts'
import { chunkPartition, nodesOf, type ChunkPlacementSource } from './chunk-placement.ts'
import type { ChunkRef, ChunkState, ChunkStore, ChunkVersion, ChunkWriteRequest } from './chunk-store.ts'
import { compareVersions } from './chunk-version.ts'
import { ChunkClientMetrics } from './client-metrics.ts'
import { replicatedRead } from './replicated-read.ts'
import { replicatedWrite, type ChunkJob } from './replicated-write.ts'

export interface ReplicatedChunkStoreComponents {
  placement: ChunkPlacementSource
  logger: Logger
  /** Where the client's counters go; none when absent. */
  metrics?: Registry
}

export interface ReplicatedChunkStoreOptions {
  /** Replicas per chunk; the ring's replica count by default. */
  replicas?: number
  /** How long a node may leave one op unanswered before it counts as unreachable. */
  nodeTimeoutMs?: number
  /** How long a node that failed as unreachable is tried only as a last resort. */
  suppressMs?: number
}

/** Flush and drop may fsync or delete many files: they get at least this long. */
const SLOW_CALL_MS = 60_000

/**
 * The ChunkStore on the ring: each chunk lives on the replicas of the ring
 * partition of /.chunks/<layer>/<index>; data ops go over one multiplexed
 * session per node, layer-wide ops to every node. See storage/README.md
 * "Chunks" for the rules.
 */
export class ReplicatedChunkStore implements ChunkStore {
  private readonly placement: ChunkPlacementSource
  private readonly logger: Logger
  private readonly metrics: ChunkClientMetrics
  private readonly pool: NodePool<ChunkNodeClient>
  private readonly replicas: number | undefined

  constructor (components: ReplicatedChunkStoreComponents, options: ReplicatedChunkStoreOptions = {}) {
    this.placement = components.placement
    this.logger = components.logger
    this.metrics = new ChunkClientMetrics(components.metrics)
    this.replicas = options.replicas
    const timeoutMs = options.nodeTimeoutMs ?? 10_000
    const codec = new FrameCodec()
    this.pool = new NodePool((address) => new ChunkNodeClient(address, { codec, timeoutMs, slowTimeoutMs: Math.max(timeoutMs, SLOW_CALL_MS) }),
      { suppressMs: options.suppressMs ?? 5_000 })
  }

  async write (request: ChunkWriteRequest): Promise<void> {
    checkWrite(request)
    await this.counted('write', async () => await replicatedWrite(this.job(request.chunk), request))
  }

  async read (chunk: ChunkRef, chunkSize: number, version: ChunkVersion, offset: number, length: number): Promise<Buffer> {
    checkLayer(chunk.layer)
    checkIndex(chunk.index)
    checkChunkSize(chunkSize)
    checkRange(offset, length, chunkSize)
    return await this.counted('read', async () => await replicatedRead(this.job(chunk), chunk, chunkSize, version, offset, length))
  }

  async scan (layer: string): Promise<Map<number, ChunkState>> {
    checkLayer(layer)
    return await this.counted('scan', async () => {
      const answers = await this.onNodes('scan', layer, 'allButOne', async (client) => await client.scan(layer))
      const newest = new Map<number, ChunkState>()
      for (const entries of answers) {
        for (const { index, version, hole } of entries) {
          const seen = newest.get(index)
          if (seen === undefined || compareVersions(version, seen.version) > 0) newest.set(index, { version, hole })
        }
      }
      return newest
    })
  }

  async fence (layer: string, epoch: number): Promise<void> {
    checkLayer(layer)
    await this.counted('fence', async () => {
      await this.onNodes('fence', layer, 'allButOne', async (client) => await client.fence(layer, epoch))
    })
  }

  async flush (layer: string): Promise<void> {
    checkLayer(layer)
    await this.counted('flush', async () => {
      await this.onNodes('flush', layer, 'allButOne', async (client) => await client.flush(layer))
    })
  }

  async drop (layer: string): Promise<void> {
    checkLayer(layer)
    await this.counted('drop', async () => {
      await this.onNodes('drop', layer, 'all', async (client) => await client.drop(layer))
    })
  }

  close (): void {
    this.pool.close()
  }

  private job (chunk: ChunkRef): ChunkJob {
    const placement = this.placement.current()
    const partition = chunkPartition(placement, chunk)
    const replicas = this.replicas ?? placement.replicas
    return {
      pool: this.pool,
      candidates: new Candidates(placement, partition, this.pool),
      partition,
      replicas,
      minReplicas: Math.min(2, replicas, nodesOf(placement).length),
      logger: this.logger,
      metrics: this.metrics
    }
  }

  /**
   * Runs `work` on every node. Settles once all have answered, or as soon as
   * enough have: every node for 'all', every node but one for 'allButOne'
   * (a write reaches two nodes, so all but one always include one that has
   * it). A refusal about the request (StaleEpoch, InvalidArgument) fails
   * the call; too few answers fail it as Unavailable.
   */
  private async onNodes<T> (what: string, layer: string, need: 'all' | 'allButOne', work: (client: ChunkNodeClient) => Promise<T>): Promise<T[]> {
    const nodes = nodesOf(this.placement.current())
    const required = need === 'all' ? nodes.length : Math.max(1, nodes.length - 1)
    const answers: T[] = []
    const errors: Array<{ device: PlacementDevice, error: StorageError }> = []
    await new Promise<void>((resolve) => {
      let settled = 0
      const settle = (): void => {
        settled++
        if (settled === nodes.length || answers.length >= required || errors.some((e) => isFatal(e.error))) resolve()
      }
      if (nodes.length === 0) resolve()
      for (const device of nodes) {
        work(this.pool.client(device)).then((answer) => {
          this.pool.markUp(device)
          answers.push(answer)
          settle()
        }, (err: unknown) => {
          const error = err instanceof StorageError ? err : new StorageError('Internal', String(err), { cause: err })
          if (error.code === 'Unavailable') this.pool.markDown(device)
          errors.push({ device, error })
          settle()
        })
      }
    })
    const fatal = errors.find((e) => isFatal(e.error))
    if (fatal !== undefined) throw fatal.error
    if (answers.length < required) {
      const why = errors.map((e) => `${addressOf(e.device)}: ${e.error.code}`).join(', ')
      throw new StorageError('Unavailable', `${what} of layer ${layer}: ${answers.length} of ${nodes.length} nodes answered, ${required} needed (${why})`)
    }
    return answers
  }

  private async counted<T> (op: string, work: () => Promise<T>): Promise<T> {
    try {
      const result = await work()
      this.metrics.outcome(op, 'ok')
      return result
    } catch (err) {
      this.metrics.outcome(op, err instanceof StorageError ? err.code : 'Internal')
      throw err
    }
  }
}

function isFatal (error: StorageError): boolean {
  return error.code === 'StaleEpoch' || error.code === 'InvalidArgument'
}

function checkWrite (request: ChunkWriteRequest): void {
  checkLayer(request.chunk.layer)
  checkIndex(request.chunk.index)
  checkChunkSize(request.chunkSize)
  checkWriteVersion(request.next)
  if (request.prev !== null) checkWriteVersion(request.prev)
  const { write } = request
  if (write.kind === 'data') checkRange(write.offset, write.data.length, request.chunkSize)
  else if (write.kind === 'zero') checkRange(write.offset, write.length, request.chunkSize)
}
