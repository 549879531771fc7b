import type { sendUnaryData, ServerWritableStream } from '@grpc/grpc-js'
import type { Socket } from 'node:net'
import type { ChunkStoreHandlers } from '../../proto/gen/ringstack/block/v1/ChunkStore.ts'
import type { LayerRequest__Output } from '../../proto/gen/ringstack/block/v1/LayerRequest.ts'
import type { Op__Output } from '../../proto/gen/ringstack/block/v1/Op.ts'
import type { ReadOp__Output } from '../../proto/gen/ringstack/block/v1/ReadOp.ts'
import type { Result } from '../../proto/gen/ringstack/block/v1/Result.ts'
import type { ScanEntry as ProtoScanEntry } from '../../proto/gen/ringstack/block/v1/ScanEntry.ts'
import type { ScanReply } from '../../proto/gen/ringstack/block/v1/ScanReply.ts'
import type { WriteOp__Output } from '../../proto/gen/ringstack/block/v1/WriteOp.ts'
import type { Logger } from '../../lib/logger.ts'
import { StorageError } from '../errors.ts'
import { toStatus } from '../grpc-status.ts'
import type { ChunkDevice, NodeChunkChange, NodeChunkRead, NodeChunkWrite, ScanEntry } from './chunk-device.ts'
import { storedOf } from './chunk-errors.ts'
import type { ChunkMetrics, ChunkOp } from './chunk-metrics.ts'
import { stateToProto, versionFromProto, versionToProto } from './chunk-proto.ts'
import { compareVersions } from './chunk-version.ts'
import { FrameCodec } from './data-frames.ts'
import { ServerSession } from './server-session.ts'

export interface ChunkServiceComponents {
  devices: ReadonlyMap<string, ChunkDevice>
  metrics: ChunkMetrics
  logger: Logger
  /** The data channel's bound port, which DataChannel tells clients. */
  dataPort: () => number
}

/** Codes that describe the request or the replica's state, not a node fault: logged at debug. */
const REFUSALS = new Set(['InvalidArgument', 'Conflict', 'VersionMismatch', 'StaleChunk', 'StaleEpoch', 'UnknownDevice', 'Unavailable'])
const SCAN_BATCH = 1000

/**
 * The ChunkStore: data ops arrive on data-channel sessions (session()),
 * control ops (scan, fence, flush, drop) as gRPC calls of their own that
 * apply to every device of the node. close() ends the sessions gracefully
 * and waits for the control calls.
 */
export class ChunkService {
  private readonly devices: ReadonlyMap<string, ChunkDevice>
  private readonly metrics: ChunkMetrics
  private readonly logger: Logger
  private readonly dataPort: () => number
  private readonly codec = new FrameCodec()
  private readonly sessions = new Set<ServerSession>()
  private controlCalls = 0
  private idleWaiters: Array<() => void> = []
  private closing = false

  constructor (components: ChunkServiceComponents) {
    this.devices = components.devices
    this.metrics = components.metrics
    this.logger = components.logger
    this.dataPort = components.dataPort
  }

  /** Serves one data-channel connection. */
  session (socket: Socket): void {
    const session = new ServerSession(socket, this.codec, async (op) => await this.execute(op), this.logger)
    this.metrics.sessionOpened()
    this.sessions.add(session)
    void session.finished.then(() => this.sessions.delete(session))
    if (this.closing) void session.close()
  }

  handlers (): ChunkStoreHandlers {
    return {
      DataChannel: (_call, callback) => {
        callback(null, { port: this.dataPort() })
      },
      Scan: (call) => {
        void this.control('scan', async () => await this.scan(call), (error) => call.emit('error', toStatus(error)))
      },
      Fence: (call, callback) => {
        this.unary('fence', callback, async () => {
          const epochs = await this.onDevices(async (device) => await device.fence(call.request.layer, call.request.epoch))
          return { epoch: Math.max(...epochs) }
        })
      },
      Flush: (call, callback) => {
        this.unary('flush', callback, async () => {
          await this.onDevices(async (device) => await device.flush(call.request.layer))
          return {}
        })
      },
      Drop: (call, callback) => {
        this.unary('drop', callback, async () => {
          await this.onDevices(async (device) => await device.drop(call.request.layer))
          return {}
        })
      }
    }
  }

  /** Refuses new work, lets what is under way finish and ends every session. */
  async close (): Promise<void> {
    this.closing = true
    await Promise.all([...this.sessions].map(async (session) => await session.close()))
    if (this.controlCalls > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }

  private async execute (op: Op__Output): Promise<Result> {
    const kind: ChunkOp = op.op === 'read' ? 'read' : 'write'
    const done = this.metrics.begin(kind)
    try {
      if (op.op === 'write' && op.write != null) {
        const write = decodeWrite(op.write)
        await this.device(op.write.chunk?.device).write(write)
        done('ok', write.change.kind === 'data' ? write.change.data.length : 0)
        return { id: op.id }
      }
      if (op.op === 'read' && op.read != null) {
        const data = await this.device(op.read.chunk?.device).read(decodeRead(op.read))
        done('ok', data.length)
        return { id: op.id, data }
      }
      throw new StorageError('InvalidArgument', 'an op must be a read or a write')
    } catch (err) {
      const error = this.failure(kind, err)
      done(error.code)
      return { id: op.id, error: { code: error.code, message: error.message }, stored: stateToProto(storedOf(err) ?? null) }
    }
  }

  private async scan (call: ServerWritableStream<LayerRequest__Output, ScanReply>): Promise<void> {
    let entries: ProtoScanEntry[] = []
    const send = async (): Promise<void> => {
      const ok = call.write({ entries })
      entries = []
      if (!ok) await new Promise((resolve) => call.once('drain', resolve))
    }
    for await (const entry of this.merged(call.request.layer)) {
      entries.push({ index: entry.index, version: versionToProto(entry.version), hole: entry.hole })
      if (entries.length >= SCAN_BATCH) await send()
    }
    if (entries.length > 0) await send()
    call.end()
  }

  /** The newest state per index across the node's devices, in index order. */
  private async * merged (layer: string): AsyncGenerator<ScanEntry> {
    const devices = [...this.devices.values()]
    if (devices.length === 1) {
      yield * devices[0]!.scan(layer)
      return
    }
    const newest = new Map<number, ScanEntry>()
    for (const device of devices) {
      for await (const entry of device.scan(layer)) {
        const seen = newest.get(entry.index)
        if (seen === undefined || compareVersions(entry.version, seen.version) > 0) newest.set(entry.index, entry)
      }
    }
    yield * [...newest.values()].sort((a, b) => a.index - b.index)
  }

  private unary<T> (op: ChunkOp, callback: sendUnaryData<T>, work: () => Promise<T>): void {
    void this.control(op, async () => callback(null, await work()), (error) => callback(toStatus(error)))
  }

  private async control (op: ChunkOp, work: () => Promise<void>, fail: (error: StorageError) => void): Promise<void> {
    this.controlCalls++
    const done = this.metrics.begin(op)
    try {
      if (this.closing) throw new StorageError('Unavailable', 'the storage node is stopping')
      await work()
      done('ok')
    } catch (err) {
      const error = this.failure(op, err)
      done(error.code)
      fail(error)
    } finally {
      if (--this.controlCalls === 0) {
        for (const wake of this.idleWaiters) wake()
        this.idleWaiters = []
      }
    }
  }

  private async onDevices<T> (work: (device: ChunkDevice) => Promise<T>): Promise<T[]> {
    return await Promise.all([...this.devices.values()].map(work))
  }

  private device (name: string | undefined): ChunkDevice {
    const device = this.devices.get(name ?? '')
    if (device === undefined) throw new StorageError('UnknownDevice', `device "${name ?? ''}" is not on this node`)
    return device
  }

  private failure (op: ChunkOp, err: unknown): StorageError {
    const error = err instanceof StorageError ? err : new StorageError('Internal', 'internal error', { cause: err })
    if (REFUSALS.has(error.code)) this.logger.debug({ op, code: error.code, err: error.message }, 'chunk op refused')
    else this.logger.error({ op, code: error.code, err }, 'chunk op failed')
    return error
  }
}

function decodeWrite (op: WriteOp__Output): NodeChunkWrite {
  const next = versionFromProto(op.next)
  if (op.chunk == null || next === null) throw new StorageError('InvalidArgument', 'a write needs a chunk and a next version')
  let change: NodeChunkChange
  if (op.change === 'data' && op.data !== undefined) change = { kind: 'data', data: op.data }
  else if (op.change === 'zero' && op.zero != null) change = { kind: 'zero', length: op.zero.length }
  else if (op.change === 'trim') change = { kind: 'trim' }
  else throw new StorageError('InvalidArgument', 'a write needs data, zero or trim')
  return {
    partition: op.chunk.partition,
    layer: op.chunk.layer,
    index: op.chunk.index,
    chunkSize: op.chunkSize,
    offset: op.offset,
    change,
    prev: versionFromProto(op.prev),
    next,
    fua: op.fua
  }
}

function decodeRead (op: ReadOp__Output): NodeChunkRead {
  const version = versionFromProto(op.version)
  if (op.chunk == null || version === null) throw new StorageError('InvalidArgument', 'a read needs a chunk and a version')
  return {
    partition: op.chunk.partition,
    layer: op.chunk.layer,
    index: op.chunk.index,
    chunkSize: op.chunkSize,
    version,
    offset: op.offset,
    length: op.length
  }
}
