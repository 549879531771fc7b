import { Server } from '@grpc/grpc-js'
import type { Registry } from 'prom-client'
import type { Startable } from '../../lib/lifecycle.ts'
import type { Logger } from '../../lib/logger.ts'
import { MetricsServer } from '../../lib/metrics-server.ts'
import { detectAccelerator } from './accelerator.ts'
import { AgentMetrics } from './agent-metrics.ts'
import type { AgentConfig } from './config.ts'
import { ComputeService } from './compute-service.ts'
import { Hypervisor } from './hypervisor.ts'
import { InstanceStore } from './instance-store.ts'
import { computeAgentService } from './proto.ts'
import { bindInsecure } from '../../lib/grpc-server.ts'
import { hostPort } from '../../lib/host-port.ts'

export interface ComputeAgentComponents {
  logger: Logger
  /** Registry the agent's metrics go to; served on config.metricsPort. */
  metrics: Registry
}

interface Running {
  server: Server
  port: number
  hypervisor: Hypervisor
  metricsServer: MetricsServer
}

/**
 * One hypervisor host's agent: re-adopts the QEMUs a previous agent left,
 * then serves ComputeAgent over gRPC and /metrics. stop() leaves every QEMU
 * running for the next agent to adopt.
 */
export class ComputeAgent implements Startable {
  readonly config: AgentConfig
  private readonly logger: Logger
  private readonly registry: Registry
  private running: Running | undefined

  constructor (config: AgentConfig, components: ComputeAgentComponents) {
    this.config = config
    this.logger = components.logger
    this.registry = components.metrics
  }

  get address (): string {
    return hostPort(this.config.host, this.port)
  }

  get port (): number {
    return this.running?.port ?? 0
  }

  get metricsPort (): number {
    return this.running?.metricsServer.port ?? 0
  }

  async start (): Promise<void> {
    if (this.running !== undefined) throw new Error('compute agent already started')
    const { config } = this
    const accelerator = await detectAccelerator()
    // Scraped only once the agent serves, when the hypervisor exists.
    const metrics: AgentMetrics = new AgentMetrics(this.registry, () => hypervisor.states())
    const hypervisor: Hypervisor = new Hypervisor(
      { agentId: config.id, vcpus: config.vcpus, ramMiB: config.ramMiB, stopTimeoutMs: config.stopTimeoutMs },
      {
        logger: this.logger,
        metrics,
        store: new InstanceStore(config.dataDir),
        qemuBinary: config.qemuBinary,
        accelerator,
        forwardHost: config.forwardHost,
        consoleLogBytes: config.consoleLogBytes,
        startTimeoutMs: config.startTimeoutMs,
        detachTimeoutMs: config.detachTimeoutMs,
        diskRetryMs: config.diskRetryMs
      })
    await hypervisor.load()
    const server = new Server()
    server.addService(computeAgentService(), new ComputeService({ hypervisor, logger: this.logger }).handlers())
    const metricsServer = new MetricsServer(config.host, config.metricsPort, this.registry, this.logger)
    try {
      const port = await bindInsecure(server, config.host, config.port)
      await metricsServer.start()
      this.running = { server, port, hypervisor, metricsServer }
    } catch (err) {
      server.forceShutdown()
      await metricsServer.stop()
      hypervisor.release()
      throw err
    }
    this.logger.info({ address: this.address, accelerator, instances: hypervisor.list().length }, 'compute agent started')
  }

  async stop (): Promise<void> {
    const running = this.running
    if (running === undefined) return
    this.running = undefined
    // Calls in flight (a stop waiting on a guest) may take long; their QEMUs are adopted by the next agent anyway.
    running.server.forceShutdown()
    running.hypervisor.release()
    await running.metricsServer.stop()
    this.logger.info('compute agent stopped; its QEMUs run on')
  }
}
