import { Server, type ChannelOptions } from '@grpc/grpc-js'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Registry } from 'prom-client'
import xxhash from 'xxhash-wasm'
import type { Startable } from '../lib/lifecycle.ts'
import type { Logger } from '../lib/logger.ts'
import { CallTracker } from './call-tracker.ts'
import { ChunkDevice } from './chunks/chunk-device.ts'
import { MAX_CHUNK_MESSAGE_BYTES } from './chunks/chunk-layout.ts'
import { ChunkMetrics } from './chunks/chunk-metrics.ts'
import { chunkStoreService } from './chunks/chunk-proto.ts'
import { ChunkService } from './chunks/chunk-service.ts'
import { DataChannelListener } from './chunks/data-channel.ts'
import type { DeviceConfig, NodeConfig } from './config.ts'
import { Device } from './device.ts'
import { ListingService } from './listing-service.ts'
import { MetricsServer } from '../lib/metrics-server.ts'
import { widenConnectionWindow, widenStreamWindow } from './receive-window.ts'
import { NodeMetrics } from './node-metrics.ts'
import type { Hasher } from './object-file-format.ts'
import { ObjectService } from './object-service.ts'
import { GrpcStorageNodeClient } from './node-client.ts'
import { Auditor, ReplicationMetrics, Replicator } from './replication/index.ts'
import { RingWatcher, type Ring } from '../ring/index.ts'
import { listingStoreService, MAX_MESSAGE_BYTES, objectStoreService } from './proto.ts'
import { bindInsecure } from '../lib/grpc-server.ts'
import { hostPort } from '../lib/host-port.ts'

export interface StorageNodeComponents {
  logger: Logger
  /** Registry the node's metrics go to; served on config.metricsPort. */
  metrics: Registry
}

// A whole chunk (a repair) travels as one message; object chunks are checked by their handler.
const SERVER_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': Math.max(MAX_MESSAGE_BYTES, MAX_CHUNK_MESSAGE_BYTES),
  'grpc.max_send_message_length': Math.max(MAX_MESSAGE_BYTES, MAX_CHUNK_MESSAGE_BYTES)
}

interface Replication {
  replicator: Replicator
  stop: () => Promise<void>
}

interface Running {
  server: Server
  port: number
  calls: CallTracker
  devices: Device[]
  chunks: ChunkService
  dataChannel: DataChannelListener
  replication: Replication | undefined
  auditor: Auditor | undefined
  chunkDevices: ChunkDevice[]
  metricsServer: MetricsServer
}

/**
 * A storage node: its devices, the ObjectStore, ListingStore and ChunkStore
 * gRPC services on host:port,
 * and /metrics. stop() drains: no new calls, in-flight ones get
 * config.drainTimeoutMs to finish, then the rest are cut and the devices
 * are closed cleanly (which spares the next start a reconcile).
 */
export class StorageNode implements Startable {
  readonly config: NodeConfig
  private readonly logger: Logger
  private readonly registry: Registry
  private running: Running | undefined

  constructor (config: NodeConfig, components: StorageNodeComponents) {
    this.config = config
    this.logger = components.logger
    this.registry = components.metrics
  }

  /** `host:port` clients dial, valid after start(). */
  get address (): string {
    return hostPort(this.config.host, this.port)
  }

  /** The bound gRPC port (the ephemeral one when configured as 0). */
  get port (): number {
    return this.running?.port ?? 0
  }

  get metricsPort (): number {
    return this.running?.metricsServer.port ?? 0
  }

  async start (): Promise<void> {
    if (this.running !== undefined) throw new Error('storage node already started')
    const hasher: Hasher = await xxhash()
    const devices = await this.openDevices(hasher)
    let chunkDevices: ChunkDevice[]
    try {
      chunkDevices = await this.openChunkDevices()
    } catch (err) {
      await Promise.all(devices.map(async (d) => await d.close()))
      throw err
    }
    const metrics = new NodeMetrics(this.registry)
    const calls = new CallTracker({ logger: this.logger, metrics })
    const byName = new Map(devices.map((d) => [d.name, d]))
    const server = new Server(SERVER_OPTIONS)
    widenStreamWindow(server, this.logger)
    server.addService(objectStoreService(), new ObjectService({
      devices: byName, calls, metrics, replication: () => this.running?.replication?.replicator.stats
    }).handlers())
    server.addService(listingStoreService(), new ListingService({ devices: byName, calls }).handlers())
    const dataChannel = new DataChannelListener(this.config.host, this.config.chunkDataPort, (socket) => chunks.session(socket))
    const chunks = new ChunkService({
      devices: new Map(chunkDevices.map((d) => [d.name, d])),
      metrics: new ChunkMetrics(this.registry),
      logger: this.logger,
      dataPort: () => dataChannel.port
    })
    server.addService(chunkStoreService(), chunks.handlers())
    const metricsServer = new MetricsServer(this.config.host, this.config.metricsPort, this.registry, this.logger)
    try {
      await dataChannel.start()
      const port = await bindInsecure(server, this.config.host, this.config.port)
      widenConnectionWindow(server, this.logger)
      await metricsServer.start()
      const replicationMetrics = new ReplicationMetrics(this.registry)
      const replication = this.replication(byName, () => hostPort(this.config.host, port), replicationMetrics)
      await replication?.replicator.start()
      const auditor = this.config.auditBytesPerSecond === 0
        ? undefined
        : new Auditor({ devices: byName, metrics: replicationMetrics, logger: this.logger.child({ component: 'auditor' }) },
          { bytesPerSecond: this.config.auditBytesPerSecond, intervalMs: this.config.auditIntervalMs })
      await auditor?.start()
      this.running = { server, port, calls, devices, chunks, dataChannel, replication, auditor, chunkDevices, metricsServer }
    } catch (err) {
      server.forceShutdown()
      await dataChannel.stop()
      await metricsServer.stop()
      await Promise.all(devices.map(async (d) => await d.close()))
      await Promise.all(chunkDevices.map(async (d) => await d.close()))
      throw err
    }
    this.logger.info({ address: this.address, devices: devices.map((d) => d.name) }, 'storage node started')
  }

  async stop (): Promise<void> {
    const running = this.running
    if (running === undefined) return
    this.running = undefined
    const { server, calls, devices, chunks, dataChannel, replication, auditor, chunkDevices, metricsServer } = running
    const timeout = this.config.drainTimeoutMs
    await Promise.all([replication?.stop(), auditor?.stop()])
    // Chunk sessions live as long as their clients: end them once their ops are answered.
    const chunksClosed = Promise.all([dataChannel.stop(), chunks.close()])
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeout)
      server.tryShutdown(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
    if (!drained) {
      this.logger.warn({ timeoutMs: timeout }, 'calls still running after the drain timeout, cutting them')
      server.forceShutdown()
    }
    // Cut calls still unwind (a commit under way completes); wait, but not forever.
    const idle = await Promise.race([Promise.all([calls.idle(), chunksClosed]).then(() => true), sleep(timeout, false, { ref: false })])
    if (!idle) this.logger.warn('handlers still busy; closing devices anyway')
    await metricsServer.stop()
    await Promise.all(devices.map(async (d) => await d.close()))
    await Promise.all(chunkDevices.map(async (d) => await d.close()))
    this.logger.info('storage node stopped')
  }

  /**
   * The replicator, when the node knows where the ring is. The ring file may
   * not exist yet (a cluster being set up builds it from the nodes' ports):
   * passes are skipped until it does.
   */
  private replication (devices: ReadonlyMap<string, Device>, self: () => string, metrics: ReplicationMetrics): Replication | undefined {
    const { ringPath, replicationIntervalMs } = this.config
    if (ringPath === undefined || replicationIntervalMs === 0) return undefined
    const watcher = new RingWatcher({ path: ringPath, logger: this.logger })
    let watching = false
    const clients = new Map<string, GrpcStorageNodeClient>()
    const ring = async (): Promise<Ring | undefined> => {
      if (!watching) {
        try {
          await watcher.start()
          watching = true
        } catch {
          return undefined
        }
      }
      return watcher.current()
    }
    const replicator = new Replicator({
      devices,
      ring,
      self,
      client: (address) => {
        let client = clients.get(address)
        if (client === undefined) clients.set(address, client = new GrpcStorageNodeClient(address))
        return client
      },
      metrics,
      logger: this.logger.child({ component: 'replicator' })
    }, {
      intervalMs: replicationIntervalMs,
      callTimeoutMs: 10_000,
      maxBytesPerSecond: this.config.replicationMaxBytesPerSecond,
      maxOpsPerSecond: this.config.replicationMaxOpsPerSecond,
      reclaimAgeMs: this.config.reclaimAgeMs
    })
    return {
      replicator,
      stop: async () => {
        await replicator.stop()
        await watcher.stop()
        for (const client of clients.values()) client.close()
      }
    }
  }

  private async openDevices (hasher: Hasher): Promise<Device[]> {
    return await this.openEach(async (device) => await Device.open(device, { logger: this.logger, hasher }))
  }

  /** Each device's chunk store, opened next to (not inside) its object store. */
  private async openChunkDevices (): Promise<ChunkDevice[]> {
    return await this.openEach(async (device) => await ChunkDevice.open(device, { logger: this.logger }))
  }

  /** Opens one per configured device; if any fails, closes the others and throws. */
  private async openEach<T extends { close: () => Promise<void> }> (open: (device: DeviceConfig) => Promise<T>): Promise<T[]> {
    const results = await Promise.allSettled(this.config.devices.map(open))
    const opened = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) {
      await Promise.all(opened.map(async (d) => await d.close()))
      throw failed.reason
    }
    return opened
  }
}
