import type { Logger } from 'pino'
import type { ObjectInfo, ObjectRef } from '../types.ts'
import { StorageError } from '../errors.ts'
import type { HybridClock } from '../hlc.ts'
import { Candidates } from './candidates.ts'
import type { NodePool } from './node-pool.ts'
import type { PlacementDevice, PlacementSource } from './placement.ts'
import { awaitQuorum, resolveQuorums, withTimeout } from './quorum.ts'
import { replicatedGet, replicatedHead, type ObjectRead, type ReadJob, type ReadRange } from './replicated-read.ts'
import { replicatedPut } from './replicated-put.ts'

export interface ObjectClientComponents {
  placement: PlacementSource
  pool: NodePool
  clock: HybridClock
  logger: Logger
}

export interface ObjectClientOptions {
  /** Replicas written per object; the ring's replica count by default 3. */
  replicas?: number
  /** R: answers a read waits for; ceil(N/2) by default. */
  readQuorum?: number
  /** W: durable copies before a write is acked; N + 1 - R by default. */
  writeQuorum?: number
  /** How long one node may take for one step (or lag the others in a write) before it counts as down. */
  nodeTimeoutMs?: number
  /** How long a write may wait when every replica is slow, and how long a commit may take. */
  stallLimitMs?: number
  /** Bytes of a body kept to replay into a handoff when a replica fails mid-stream. */
  replayLimit?: number
}

export interface PutObjectOptions {
  size?: number
  metadata?: Record<string, string>
  /** Metadata known only once the body is read (an MD5 ETag, trailer checksums). */
  trailer?: () => Record<string, string> | undefined
  /** Stamp to write with; a fresh clock tick by default. */
  timestamp?: bigint
}

export interface ObjectPath {
  account: string
  container: string
  object: string
}

/**
 * The proxy logic: places each object on the ring and reads and writes its
 * replicas with quorums (R + W > N), so a read after an acked write sees it.
 * Bodies stream through; nothing is buffered whole.
 */
export class ObjectClient {
  readonly replicas: number
  readonly readQuorum: number
  readonly writeQuorum: number
  private readonly components: ObjectClientComponents
  private readonly nodeTimeoutMs: number
  private readonly stallLimitMs: number
  private readonly replayLimit: number

  constructor (components: ObjectClientComponents, options: ObjectClientOptions = {}) {
    this.components = components
    const quorums = resolveQuorums(options)
    this.replicas = quorums.replicas
    this.readQuorum = quorums.readQuorum
    this.writeQuorum = quorums.writeQuorum
    this.nodeTimeoutMs = options.nodeTimeoutMs ?? 10_000
    this.stallLimitMs = options.stallLimitMs ?? 60_000
    this.replayLimit = options.replayLimit ?? 8 * 1024 * 1024
  }

  async put (path: ObjectPath, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: PutObjectOptions = {}): Promise<ObjectInfo> {
    const timestamp = options.timestamp ?? this.components.clock.tick()
    const job = this.job(path)
    return await replicatedPut({
      ...job,
      writeQuorum: this.writeQuorum,
      stallLimitMs: this.stallLimitMs,
      options: { timestamp, size: options.size, metadata: options.metadata },
      replayLimit: this.replayLimit
    }, body, options.trailer)
  }

  /** Newest live version among R replicas; NotFound when absent or deleted. */
  async head (path: ObjectPath): Promise<ObjectInfo> {
    const info = await replicatedHead(this.job(path))
    // A write this client makes after what it has seen must stamp later, whatever its wall clock says.
    this.components.clock.observe(info.timestamp)
    return info
  }

  /** Streams the newest live version (or a byte range of it). */
  async get (path: ObjectPath, range: ReadRange = {}): Promise<ObjectRead> {
    if ((range.offset !== undefined && range.offset < 0) || (range.length !== undefined && range.length < 0)) {
      throw new StorageError('InvalidArgument', 'negative range')
    }
    try {
      const read = await replicatedGet(this.job(path), range)
      this.components.clock.observe(read.info.timestamp)
      return read
    } catch (err) {
      // Nodes refuse a range that starts past the end; say so with the size.
      if (err instanceof StorageError && err.code === 'InvalidArgument' && range.offset !== undefined) {
        const info = await this.head(path)
        if (range.offset >= info.size) {
          throw new StorageError('RangeNotSatisfiable', `range starts past the end (${info.size} bytes)`, { cause: err })
        }
      }
      throw err
    }
  }

  /** Writes a tombstone to W replicas; reads then answer NotFound. */
  async delete (path: ObjectPath, timestamp: bigint = this.components.clock.tick()): Promise<ObjectInfo> {
    const job = this.job(path)
    const attempt = (device: PlacementDevice): { device: PlacementDevice, promise: Promise<ObjectInfo> } => ({
      device,
      promise: withTimeout(this.components.pool.client(device).delete(job.refFor(device), timestamp), this.nodeTimeoutMs, 'replica delete')
    })
    const answers = await awaitQuorum(job.candidates.take(this.replicas).map(attempt), {
      need: this.writeQuorum,
      replace: () => {
        const device = job.candidates.next()
        return device === undefined ? undefined : attempt(device)
      },
      onError: (device, error) => {
        if (error.code === 'Unavailable') this.components.pool.markDown(device)
      }
    })
    return answers[0]!.value
  }

  private job (path: ObjectPath): ReadJob {
    validatePath(path)
    const placement = this.components.placement.current()
    const partition = placement.partition(path.account, path.container, path.object)
    const refFor = (device: PlacementDevice): ObjectRef => ({ device: device.device, partition, ...path })
    return {
      pool: this.components.pool,
      candidates: new Candidates(placement, partition, this.components.pool),
      refFor,
      replicas: this.replicas,
      readQuorum: this.readQuorum,
      nodeTimeoutMs: this.nodeTimeoutMs,
      logger: this.components.logger
    }
  }
}

function validatePath (path: ObjectPath): void {
  for (const [part, value] of Object.entries(path)) {
    if (value === '') throw new StorageError('InvalidArgument', `empty ${part} name`)
    if (value.includes('\0')) throw new StorageError('InvalidArgument', `${part} name contains NUL`)
  }
  if (Buffer.byteLength(path.object) > 1024) throw new StorageError('InvalidArgument', 'object name longer than 1024 bytes')
}
