import { credentials, type CallOptions, type ChannelOptions, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js'
import type { ObjectInfo__Output } from '../proto/gen/ringstack/storage/v1/ObjectInfo.ts'
import type { NodeStatusReply__Output } from '../proto/gen/ringstack/storage/v1/NodeStatusReply.ts'
import type { ObjectStoreClient } from '../proto/gen/ringstack/storage/v1/ObjectStore.ts'
import type { PutObjectRequest } from '../proto/gen/ringstack/storage/v1/PutObjectRequest.ts'
import { StorageError } from './errors.ts'
import { fromServiceError } from './grpc-status.ts'
import { GrpcListingNodeClient } from './listing-node-client.ts'
import { loadObjectStore, MAX_CHUNK_BYTES, MAX_MESSAGE_BYTES, objectStoreService } from './proto.ts'
import type { PartitionEntry } from './partition-digest.ts'
import { PutChunk } from './put-chunk.ts'
import type { GetOptions, GetStream, ObjectInfo, ObjectRef, PutOptions, PutStream, StorageNodeClient } from './types.ts'

const CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  // A larger receive window lets a download run without waiting on window updates.
  'grpc-node.flow_control_window': 8 * MAX_CHUNK_BYTES,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  // Calls fail fast while a node is down; keep the reconnect backoff short so
  // a node that comes back is used again within a second or so.
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 1_000,
  // Nodes are dialled directly; a proxy from the environment must not interfere.
  'grpc.enable_http_proxy': 0,
  // Retries belong to the object client (other replicas); grpc's would buffer bodies.
  'grpc.enable_retries': 0
}

/** The typed client for one storage node at `host:port`; `listings` shares its channel. */
export class GrpcStorageNodeClient implements StorageNodeClient {
  readonly address: string
  readonly listings: GrpcListingNodeClient
  private readonly client: ObjectStoreClient

  constructor (address: string, channelOptions: ChannelOptions = {}) {
    this.address = address
    const ObjectStore = loadObjectStore()
    this.client = new ObjectStore(address, credentials.createInsecure(), { ...CHANNEL_OPTIONS, ...channelOptions })
    this.listings = new GrpcListingNodeClient(address, this.client)
  }

  put (ref: ObjectRef, options: PutOptions): PutStream {
    const method = objectStoreService().PutObject
    let call!: ClientWritableStream<Buffer>
    const done = new Promise<ObjectInfo>((resolve, reject) => {
      // Messages go out as encoded by the caller (see PutChunk): the identity serializer.
      call = this.client.makeClientStreamRequest(method.path, (message: Buffer) => message, method.responseDeserialize,
        callOptions(options.deadline), (err: ServiceError | null, value?: ObjectInfo__Output) => {
          if (err !== null) reject(this.error(err))
          else if (value === undefined) reject(new StorageError('Internal', `${this.address}: empty PutObject reply`))
          else resolve(fromProto(value))
        })
    })
    // Observed through write() and finish(); a caller that aborts never looks.
    done.catch(() => {})
    call.write(method.requestSerialize({
      header: {
        ref,
        timestamp: options.timestamp.toString(),
        size: String(options.size ?? -1),
        metadata: options.metadata ?? {}
      }
    }))
    return new GrpcPutStream(call, done, this.address, method.requestSerialize)
  }

  async get (ref: ObjectRef, options: GetOptions = {}): Promise<GetStream> {
    const call = this.client.GetObject({
      ref,
      offset: String(options.offset ?? 0),
      length: String(options.length ?? -1),
      timestamp: (options.timestamp ?? 0n).toString()
    }, callOptions(options.deadline))
    // Errors surface through the iterator; this keeps one after it is dropped from crashing the process.
    call.on('error', () => {})
    const messages = call[Symbol.asyncIterator]() as AsyncIterator<{ part?: string, info?: ObjectInfo__Output | null, chunk?: Buffer }>
    let first: IteratorResult<{ part?: string, info?: ObjectInfo__Output | null }>
    try {
      first = await messages.next()
    } catch (err) {
      throw this.error(err)
    }
    if (first.done === true || first.value.part !== 'info' || first.value.info == null) {
      call.cancel()
      throw new StorageError('Internal', `${this.address}: GetObject did not start with info`)
    }
    let cancelled = false
    const toError = (err: unknown): StorageError => this.error(err)
    async function * body (): AsyncGenerator<Uint8Array> {
      try {
        for (;;) {
          const next = await messages.next()
          if (next.done === true) return
          if (next.value.part === 'chunk' && next.value.chunk !== undefined) yield next.value.chunk
        }
      } catch (err) {
        if (cancelled) return
        throw toError(err)
      }
    }
    return {
      info: fromProto(first.value.info),
      body: body(),
      cancel: () => {
        cancelled = true
        call.cancel()
      }
    }
  }

  async head (ref: ObjectRef, options: { deadline?: number } = {}): Promise<ObjectInfo> {
    return await new Promise((resolve, reject) => {
      this.client.HeadObject(ref, callOptions(options.deadline), (err, value) => {
        if (err !== null || value === undefined) reject(this.error(err))
        else resolve(fromProto(value))
      })
    })
  }

  async delete (ref: ObjectRef, timestamp: bigint, options: { deadline?: number } = {}): Promise<ObjectInfo> {
    return await new Promise((resolve, reject) => {
      this.client.DeleteObject({ ref, timestamp: timestamp.toString() }, callOptions(options.deadline), (err, value) => {
        if (err !== null || value === undefined) reject(this.error(err))
        else resolve(fromProto(value))
      })
    })
  }

  async partitionDigest (device: string, partition: number, options: { deadline?: number } = {}): Promise<Map<string, string>> {
    return await new Promise((resolve, reject) => {
      this.client.PartitionDigest({ device, partition }, callOptions(options.deadline), (err, value) => {
        if (err !== null || value === undefined) reject(this.error(err))
        else resolve(new Map(Object.entries(value.suffixes)))
      })
    })
  }

  async partitionEntries (device: string, partition: number, suffixes: string[],
    options: { deadline?: number } = {}): Promise<PartitionEntry[]> {
    return await new Promise((resolve, reject) => {
      this.client.PartitionEntries({ device, partition, suffixes }, callOptions(options.deadline), (err, value) => {
        if (err !== null || value === undefined) reject(this.error(err))
        else resolve(value.entries.map((e) => ({ hash: e.hash, timestamp: BigInt(e.timestamp), deleted: e.deleted })))
      })
    })
  }

  async status (options: { deadline?: number } = {}): Promise<NodeStatusReply__Output> {
    return await new Promise((resolve, reject) => {
      this.client.NodeStatus({}, callOptions(options.deadline), (err, value) => {
        if (err !== null || value === undefined) reject(this.error(err))
        else resolve(value)
      })
    })
  }

  close (): void {
    this.client.close()
  }

  private error (err: unknown): StorageError {
    return toStorageError(err, this.address)
  }
}

/** Body bytes a put may have queued in the transport before write() waits. */
const PUT_WINDOW_BYTES = MAX_CHUNK_BYTES

/**
 * The body side of a PutObject call. Plain chunks above the node's limit go
 * as several messages. write() returns at once while little is queued (a
 * small object goes out without a single wait) and otherwise waits until
 * the transport has taken the backlog down to PUT_WINDOW_BYTES.
 */
class GrpcPutStream implements PutStream {
  private readonly call: ClientWritableStream<Buffer>
  private readonly done: Promise<ObjectInfo>
  private readonly address: string
  private readonly serialize: (request: PutObjectRequest) => Buffer
  private queued = 0
  private drained: (() => void) | undefined
  private closed: Error | undefined

  constructor (call: ClientWritableStream<Buffer>, done: Promise<ObjectInfo>, address: string,
    serialize: (request: PutObjectRequest) => Buffer) {
    this.call = call
    this.done = done
    this.address = address
    this.serialize = serialize
    // Once the node has refused the put, later writes fail at once with its reason.
    done.catch((err: unknown) => { this.closed ??= err as Error })
  }

  async write (chunk: Uint8Array | PutChunk): Promise<void> {
    if (chunk instanceof PutChunk) {
      this.assertOpen()
      this.send(chunk)
      if (this.queued > PUT_WINDOW_BYTES) await this.drain()
      return
    }
    for (let at = 0; at < chunk.length; at += MAX_CHUNK_BYTES) {
      const piece = chunk.subarray(at, at + MAX_CHUNK_BYTES)
      await this.write(PutChunk.of([piece], piece.length))
    }
  }

  async finish (metadata: Record<string, string> = {}): Promise<ObjectInfo> {
    this.assertOpen()
    this.closed = new StorageError('InvalidArgument', 'put already finished')
    this.call.write(this.serialize({ trailer: { metadata } }))
    this.call.end()
    return await this.done
  }

  abort (reason?: Error): void {
    if (this.closed !== undefined) return
    this.closed = reason ?? new StorageError('Unavailable', 'put aborted')
    this.call.cancel()
  }

  private assertOpen (): void {
    if (this.closed !== undefined) throw this.closed
  }

  private send (chunk: PutChunk): void {
    const { length } = chunk
    this.queued += length
    // A failed write also ends the call; its status reaches the caller through `done`.
    this.call.write(chunk.message, () => {
      this.queued -= length
      if (this.queued <= PUT_WINDOW_BYTES) this.drained?.()
    })
  }

  /** Waits until the backlog is small again, or throws the call's failure. */
  private async drain (): Promise<void> {
    const drained = new Promise<void>((resolve) => { this.drained = resolve })
    const endedEarly = this.done.then(() => {
      throw new StorageError('Internal', `${this.address}: node answered before the body ended`)
    })
    try {
      await Promise.race([drained, endedEarly])
    } finally {
      this.drained = undefined
    }
  }
}

function callOptions (deadline: number | undefined): CallOptions {
  return deadline === undefined ? {} : { deadline }
}

function fromProto (info: ObjectInfo__Output): ObjectInfo {
  return {
    exists: info.exists,
    deleted: info.deleted,
    timestamp: BigInt(info.timestamp),
    size: Number(info.size),
    checksum: info.checksum,
    metadata: info.metadata
  }
}

function isServiceError (err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'metadata' in err
}

function toStorageError (err: unknown, address: string): StorageError {
  if (err instanceof StorageError) return err
  if (isServiceError(err)) return fromServiceError(err, address)
  return new StorageError('Internal', `${address}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
}
