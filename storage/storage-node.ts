import { Server, ServerCredentials, type ChannelOptions } from '@grpc/grpc-js'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Registry } from 'prom-client'
import xxhash from 'xxhash-wasm'
import type { Startable } from '../lib/lifecycle.ts'
import type { Logger } from '../lib/logger.ts'
import { CallTracker } from './call-tracker.ts'
import type { NodeConfig } from './config.ts'
import { Device } from './device.ts'
import { ListingService } from './listing-service.ts'
import { MetricsServer } from '../lib/metrics-server.ts'
import { widenConnectionWindow, widenStreamWindow } from './receive-window.ts'
import { NodeMetrics } from './node-metrics.ts'
import type { Hasher } from './object-file-format.ts'
import { ObjectService } from './object-service.ts'
import { listingStoreService, MAX_MESSAGE_BYTES, objectStoreService } from './proto.ts'

export interface StorageNodeComponents {
  logger: Logger
  /** Registry the node's metrics go to; served on config.metricsPort. */
  metrics: Registry
}

const SERVER_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES
}

interface Running {
  server: Server
  port: number
  calls: CallTracker
  devices: Device[]
  metricsServer: MetricsServer
}

/**
 * A storage node: its devices, the ObjectStore and ListingStore gRPC
 * services on host:port,
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
    return `${this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host}:${this.port}`
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
    const metrics = new NodeMetrics(this.registry)
    const calls = new CallTracker({ logger: this.logger, metrics })
    const byName = new Map(devices.map((d) => [d.name, d]))
    const server = new Server(SERVER_OPTIONS)
    widenStreamWindow(server, this.logger)
    server.addService(objectStoreService(), new ObjectService({ devices: byName, calls, metrics }).handlers())
    server.addService(listingStoreService(), new ListingService({ devices: byName, calls }).handlers())
    const metricsServer = new MetricsServer(this.config.host, this.config.metricsPort, this.registry, this.logger)
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host
        server.bindAsync(`${host}:${this.config.port}`, ServerCredentials.createInsecure(), (err, bound) => {
          if (err === null) resolve(bound)
          else reject(err)
        })
      })
      widenConnectionWindow(server, this.logger)
      await metricsServer.start()
      this.running = { server, port, calls, devices, metricsServer }
    } catch (err) {
      server.forceShutdown()
      await metricsServer.stop()
      await Promise.all(devices.map(async (d) => await d.close()))
      throw err
    }
    this.logger.info({ address: this.address, devices: devices.map((d) => d.name) }, 'storage node started')
  }

  async stop (): Promise<void> {
    const running = this.running
    if (running === undefined) return
    this.running = undefined
    const { server, calls, devices, metricsServer } = running
    const timeout = this.config.drainTimeoutMs
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
    const idle = await Promise.race([calls.idle().then(() => true), sleep(timeout, false, { ref: false })])
    if (!idle) this.logger.warn('handlers still busy; closing devices anyway')
    await metricsServer.stop()
    await Promise.all(devices.map(async (d) => await d.close()))
    this.logger.info('storage node stopped')
  }

  private async openDevices (hasher: Hasher): Promise<Device[]> {
    const results = await Promise.allSettled(this.config.devices.map(async (device) =>
      await Device.open(device, { logger: this.logger, hasher })))
    const opened = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) {
      await Promise.all(opened.map(async (d) => await d.close()))
      throw failed.reason
    }
    return opened
  }
}
