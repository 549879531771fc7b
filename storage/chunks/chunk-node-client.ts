import { credentials, Metadata, type ChannelOptions, type ServiceError } from '@grpc/grpc-js'
import { connect, type Socket } from 'node:net'
import type { ChunkStoreClient } from '../../proto/gen/ringstack/block/v1/ChunkStore.ts'
import type { ReadOp } from '../../proto/gen/ringstack/block/v1/ReadOp.ts'
import type { Result__Output } from '../../proto/gen/ringstack/block/v1/Result.ts'
import type { ScanReply__Output } from '../../proto/gen/ringstack/block/v1/ScanReply.ts'
import type { WriteOp } from '../../proto/gen/ringstack/block/v1/WriteOp.ts'
import { StorageError, type StorageErrorCode } from '../errors.ts'
import { fromServiceError, isStorageErrorCode } from '../grpc-status.ts'
import { ChunkStateError } from './chunk-errors.ts'
import { loadChunkStore, stateFromProto, versionFromProto } from './chunk-proto.ts'
import type { ChunkState } from './chunk-store.ts'
import { ClientSession, type Dial } from './client-session.ts'
import type { FrameCodec } from './data-frames.ts'
import { hostOf } from '../../lib/host-port.ts'

const CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  // A node that comes back is used again within a second or so.
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.enable_http_proxy': 0,
  // Retries belong to the replicating client (other replicas).
  'grpc.enable_retries': 0
}

/**
 * Scan, fence and flush wait (within their deadline) for a node that is
 * reconnecting rather than fail at once: the replicating client needs all
 * nodes but one, not the first to answer. Drop needs every node and is
 * retried by its caller, so it fails fast instead.
 */
function patient (): Metadata {
  return new Metadata({ waitForReady: true })
}

/** Codes whose refusals say what the replica holds. */
const STATE_CODES = new Set<StorageErrorCode>(['StaleChunk', 'Conflict', 'VersionMismatch'])

export interface ChunkNodeClientOptions {
  /** Shared by a process's clients: the proto is parsed once. */
  codec: FrameCodec
  /** How long one op or control call may go unanswered before it fails as Unavailable. */
  timeoutMs: number
  /** Deadline of flush and drop, which may fsync or delete many files. */
  slowTimeoutMs: number
}

export interface NodeScanEntry extends ChunkState {
  index: number
}

/**
 * The typed client for one node's ChunkStore: reads and writes go over one
 * data-channel session (re-opened when it breaks; the port is asked for
 * again then, as a restarted node may listen elsewhere), control ops as
 * gRPC calls of their own.
 * Refusals come back as StorageErrors, with what the replica holds
 * (ChunkStateError) for StaleChunk, Conflict and VersionMismatch.
 */
export class ChunkNodeClient {
  readonly address: string
  private readonly client: ChunkStoreClient
  private readonly options: ChunkNodeClientOptions
  private session: ClientSession | undefined
  private dataPort: number | undefined

  constructor (address: string, options: ChunkNodeClientOptions) {
    this.address = address
    this.options = options
    const ChunkStore = loadChunkStore()
    this.client = new ChunkStore(address, credentials.createInsecure(), CHANNEL_OPTIONS)
  }

  async write (op: WriteOp): Promise<void> {
    this.check(await this.open().send({ write: op }))
  }

  async read (op: ReadOp): Promise<Buffer> {
    return this.check(await this.open().send({ read: op })).data
  }

  async scan (layer: string): Promise<NodeScanEntry[]> {
    const call = this.client.Scan({ layer }, patient(), { deadline: Date.now() + this.options.timeoutMs })
    const out: NodeScanEntry[] = []
    try {
      for await (const reply of call as AsyncIterable<ScanReply__Output>) {
        for (const entry of reply.entries) {
          const version = versionFromProto(entry.version)
          if (version !== null) out.push({ index: entry.index, version, hole: entry.hole })
        }
      }
    } catch (err) {
      throw this.error(err)
    }
    return out
  }

  async fence (layer: string, epoch: number): Promise<number> {
    return await new Promise((resolve, reject) => {
      this.client.Fence({ layer, epoch }, patient(), { deadline: Date.now() + this.options.timeoutMs }, (err, reply) => {
        if (err !== null || reply === undefined) reject(this.error(err))
        else resolve(reply.epoch)
      })
    })
  }

  async flush (layer: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.client.Flush({ layer }, patient(), { deadline: Date.now() + this.options.slowTimeoutMs }, (err) => {
        if (err !== null) reject(this.error(err))
        else resolve()
      })
    })
  }

  async drop (layer: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.client.Drop({ layer }, { deadline: Date.now() + this.options.slowTimeoutMs }, (err) => {
        if (err !== null) reject(this.error(err))
        else resolve()
      })
    })
  }

  close (): void {
    this.session?.close()
    this.session = undefined
    this.client.close()
  }

  private open (): ClientSession {
    if (this.session?.open !== true) {
      this.session = new ClientSession(async (onData) => await this.connect(onData), this.address, this.options.codec, this.options.timeoutMs)
    }
    return this.session
  }

  /** The last port the node named is tried first: a node restarted on a fixed port needs no gRPC round trip. */
  private async connect (onData: Parameters<Dial>[0]): Promise<Socket> {
    if (this.dataPort !== undefined) {
      try {
        return await this.dial(this.dataPort, onData)
      } catch {
        this.dataPort = undefined
      }
    }
    const port = await new Promise<number>((resolve, reject) => {
      this.client.DataChannel({}, { deadline: Date.now() + this.options.timeoutMs }, (err, reply) => {
        if (err !== null || reply === undefined) reject(this.error(err))
        else resolve(reply.port)
      })
    })
    const socket = await this.dial(port, onData)
    this.dataPort = port
    return socket
  }

  private async dial (port: number, onData: Parameters<Dial>[0]): Promise<Socket> {
    const buffer = this.options.codec.readBuffer
    return await new Promise<Socket>((resolve, reject) => {
      const socket = connect({
        host: hostOf(this.address),
        port,
        noDelay: true,
        onread: {
          buffer,
          callback: (length) => {
            onData(buffer.subarray(0, length))
            return true
          }
        }
      })
      const timer = setTimeout(() => socket.destroy(new Error(`no connection in ${this.options.timeoutMs} ms`)), this.options.timeoutMs)
      const fail = (err: Error): void => {
        clearTimeout(timer)
        reject(new StorageError('Unavailable', `${this.address}: data channel on port ${port}: ${err.message}`, { cause: err }))
      }
      socket.once('error', fail)
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.off('error', fail)
        resolve(socket)
      })
    })
  }

  private check (result: Result__Output): Result__Output {
    const failure = result.error
    if (failure == null) return result
    const code: StorageErrorCode = isStorageErrorCode(failure.code) ? failure.code : 'Internal'
    const message = `${this.address}: ${failure.message}`
    if (STATE_CODES.has(code)) throw new ChunkStateError(code, message, stateFromProto(result.stored))
    throw new StorageError(code, message)
  }

  private error (err: unknown): StorageError {
    if (err instanceof StorageError) return err
    if (err !== null && typeof err === 'object' && 'code' in err && 'details' in err) {
      return fromServiceError(err as ServiceError, this.address)
    }
    return new StorageError('Internal', `${this.address}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}
