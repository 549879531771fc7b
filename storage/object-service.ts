import type { ServerReadableStream, ServerWritableStream } from '@grpc/grpc-js'
import type { ObjectInfo as ProtoObjectInfo } from '../proto/gen/ringstack/storage/v1/ObjectInfo.ts'
import type { GetObjectRequest__Output } from '../proto/gen/ringstack/storage/v1/GetObjectRequest.ts'
import type { GetObjectResponse } from '../proto/gen/ringstack/storage/v1/GetObjectResponse.ts'
import type { ObjectStoreHandlers } from '../proto/gen/ringstack/storage/v1/ObjectStore.ts'
import type { PutObjectRequest__Output } from '../proto/gen/ringstack/storage/v1/PutObjectRequest.ts'
import type { CallTracker } from './call-tracker.ts'
import type { Device } from './device.ts'
import { StorageError } from './errors.ts'
import { toStatus } from './grpc-status.ts'
import type { NodeMetrics } from './node-metrics.ts'
import type { ObjectFileWriter } from './object-file-writer.ts'
import { objectKey, type ObjectKey } from './object-name.ts'
import { MAX_CHUNK_BYTES } from './proto.ts'
import { checkMetadata, declaredSize, rangeRequest, resolveRange, writeTimestamp } from './request-checks.ts'
import type { ReplicatorStats } from './replication/index.ts'
import type { ObjectInfo } from './types.ts'

export interface ObjectServiceComponents {
  devices: ReadonlyMap<string, Device>
  calls: CallTracker
  metrics: NodeMetrics
  /** The replicator's stats, when the node runs one. */
  replication: () => ReplicatorStats | undefined
}

/** The ObjectStore gRPC handlers: protocol checks and stream plumbing on top of the devices. */
export class ObjectService {
  private readonly devices: ReadonlyMap<string, Device>
  private readonly calls: CallTracker
  private readonly metrics: NodeMetrics
  private readonly replication: () => ReplicatorStats | undefined

  constructor (components: ObjectServiceComponents) {
    this.devices = components.devices
    this.calls = components.calls
    this.metrics = components.metrics
    this.replication = components.replication
  }

  handlers (): ObjectStoreHandlers {
    return {
      PutObject: (call, callback) => {
        this.calls.unary('PutObject', call, callback, async () => toProto(await this.put(call)))
      },
      HeadObject: (call, callback) => {
        this.calls.unary('HeadObject', call, callback, () => {
          const key = objectKey(call.request)
          return toProto(this.device(key).head(key))
        })
      },
      DeleteObject: (call, callback) => {
        this.calls.unary('DeleteObject', call, callback, async () => {
          const key = objectKey(call.request.ref)
          return toProto(await this.device(key).delete(key, writeTimestamp(call.request.timestamp)))
        })
      },
      PartitionDigest: (call, callback) => {
        this.calls.unary('PartitionDigest', call, callback, async () => {
          const { device, partition } = call.request
          return { suffixes: Object.fromEntries(await this.deviceNamed(device).digest(partition)) }
        })
      },
      PartitionEntries: (call, callback) => {
        this.calls.unary('PartitionEntries', call, callback, async () => {
          const { device, partition, suffixes } = call.request
          const entries = await this.deviceNamed(device).entries(partition, new Set(suffixes))
          return { entries: entries.map(({ hash, entry }) => ({ hash, timestamp: entry.timestamp.toString(), deleted: entry.deleted })) }
        })
      },
      NodeStatus: (call, callback) => {
        this.calls.unary('NodeStatus', call, callback, async () => {
          const devices = await Promise.all([...this.devices.values()].map(async (device) => ({ name: device.name, ...await device.status() })))
          const stats = this.replication()
          return {
            devices: devices.map((d) => ({ ...d, objects: String(d.objects), tombstones: String(d.tombstones), bytes: String(d.bytes) })),
            replicating: stats !== undefined,
            handoffPartitions: stats?.handoffPartitions ?? 0,
            pushed: String(stats?.pushed ?? 0),
            lastPassUnixMs: String(stats?.lastPassUnixMs ?? 0)
          }
        })
      },
      GetObject: (call) => {
        void this.calls.track('GetObject', call, async () => await this.get(call), (error) => {
          call.emit('error', toStatus(error))
        })
      }
    }
  }

  private device (key: ObjectKey): Device {
    return this.deviceNamed(key.ref.device)
  }

  private deviceNamed (name: string): Device {
    const device = this.devices.get(name)
    if (device === undefined) throw new StorageError('UnknownDevice', `device "${name}" is not on this node`)
    return device
  }

  private async put (call: ServerReadableStream<PutObjectRequest__Output, ProtoObjectInfo>): Promise<ObjectInfo> {
    let writer: ObjectFileWriter | undefined
    try {
      let target: { key: ObjectKey, device: Device, timestamp: bigint, size: number, metadata: Record<string, string> } | undefined
      let trailer: Record<string, string> | undefined
      for await (const message of call as AsyncIterable<PutObjectRequest__Output>) {
        if (trailer !== undefined) throw new StorageError('InvalidArgument', 'message after the trailer')
        if (message.part === 'header' && message.header != null) {
          if (target !== undefined) throw new StorageError('InvalidArgument', 'second header')
          const { header } = message
          const key = objectKey(header.ref)
          const device = this.device(key)
          const timestamp = writeTimestamp(header.timestamp)
          checkMetadata(header.metadata)
          device.assertNewer(key, timestamp)
          target = { key, device, timestamp, size: declaredSize(header.size), metadata: header.metadata }
          writer = device.newWriter()
        } else if (message.part === 'chunk' && message.chunk !== undefined) {
          if (target === undefined || writer === undefined) throw new StorageError('InvalidArgument', 'chunk before the header')
          const { chunk } = message
          if (chunk.length > MAX_CHUNK_BYTES) {
            throw new StorageError('InvalidArgument', `chunk too large: ${chunk.length} bytes, at most ${MAX_CHUNK_BYTES}`)
          }
          if (target.size >= 0 && writer.size + chunk.length > target.size) {
            throw new StorageError('InvalidArgument', `body longer than the declared ${target.size} bytes`)
          }
          await writer.write(chunk)
          this.metrics.received(chunk.length)
        } else if (message.part === 'trailer' && message.trailer != null) {
          if (target === undefined) throw new StorageError('InvalidArgument', 'trailer before the header')
          trailer = message.trailer.metadata
        } else {
          throw new StorageError('InvalidArgument', 'empty PutObject message')
        }
      }
      if (target === undefined || writer === undefined) throw new StorageError('InvalidArgument', 'no header')
      if (trailer === undefined) throw new StorageError('InvalidArgument', 'stream ended without a trailer')
      if (target.size >= 0 && writer.size !== target.size) {
        throw new StorageError('InvalidArgument', `body is ${writer.size} bytes, header declared ${target.size}`)
      }
      const metadata = { ...target.metadata, ...trailer }
      checkMetadata(metadata)
      return await target.device.commit(target.key, writer, { timestamp: target.timestamp, deleted: false, metadata })
    } catch (err) {
      await writer?.discard()
      throw err
    }
  }

  private async get (call: ServerWritableStream<GetObjectRequest__Output, GetObjectResponse>): Promise<void> {
    const request = call.request
    const key = objectKey(request.ref)
    const device = this.device(key)
    const range = rangeRequest(request.offset, request.length)
    const pinned = BigInt(request.timestamp)
    const replica = await device.read(key)
    try {
      const { info } = replica
      if (pinned !== 0n && info.timestamp !== pinned) {
        throw new StorageError('VersionMismatch', `stored version is ${info.timestamp}, not ${pinned}`)
      }
      const live = info.exists && !info.deleted
      const [start, end] = live ? resolveRange(range, info.size) : [0, 0]
      const sender = new StreamSender(call)
      sender.send({ info: toProto(info) })
      try {
        for await (const piece of replica.body(start, end, MAX_CHUNK_BYTES)) {
          // Reading and verifying the next piece overlaps sending the previous one.
          await sender.ready()
          sender.send({ chunk: piece })
          this.metrics.sent(piece.length)
        }
        await sender.ready()
      } catch (err) {
        if (err instanceof StorageError && err.code === 'Corrupt') this.metrics.corruptReplica(device.name)
        throw err
      }
      call.end()
    } finally {
      await replica.close()
    }
  }
}

/**
 * At most one GetObject message in flight: a slow client holds the node to
 * ~2 MiB per call instead of the stream's default 16-message buffer.
 */
class StreamSender {
  private readonly call: ServerWritableStream<GetObjectRequest__Output, GetObjectResponse>
  private inFlight: Promise<void> = Promise.resolve()

  constructor (call: ServerWritableStream<GetObjectRequest__Output, GetObjectResponse>) {
    this.call = call
  }

  send (message: GetObjectResponse): void {
    const call = this.call
    this.inFlight = new Promise<void>((resolve, reject) => {
      const cancelled = (): void => reject(new StorageError('Unavailable', 'call cancelled by the client'))
      if (call.cancelled) {
        cancelled()
        return
      }
      // grpc-js drops writes to a cancelled call without calling back.
      call.once('cancelled', cancelled)
      call.write(message, (err?: Error | null) => {
        call.off('cancelled', cancelled)
        if (err != null) reject(err)
        else resolve()
      })
    })
    // Observed by ready(); this keeps a failure while we read from being an unhandled rejection.
    this.inFlight.catch(() => {})
  }

  async ready (): Promise<void> {
    await this.inFlight
  }
}

function toProto (info: ObjectInfo): ProtoObjectInfo {
  return {
    exists: info.exists,
    deleted: info.deleted,
    timestamp: info.timestamp.toString(),
    size: String(info.size),
    checksum: info.checksum,
    metadata: info.metadata
  }
}
