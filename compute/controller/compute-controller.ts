import type { ControlStore } from '../../lib/control-store/index.ts'
import type { Startable } from '../../lib/lifecycle.ts'
import type { Logger } from '../../lib/logger.ts'
import type { VolumeService } from '../../storage/volume/index.ts'
import type { ImageService } from '../images/index.ts'
import { Flavors } from './flavors.ts'
import { Hypervisors } from './hypervisors.ts'
import { Scheduler } from './scheduler.ts'
import { Servers } from './servers.ts'

export interface ComputeControllerComponents {
  control: ControlStore
  volumes: VolumeService
  images: ImageService
  logger: Logger
}

export interface ComputeControllerOptions {
  /** Where agents reach this gateway's NBD target (undefined: no NBD, no boots). */
  nbd: { host: string, port: number } | undefined
  /** Compute hosts to register (or re-point) on start: the gateway config's `compute.agents`. */
  agents: Array<{ name: string, address: string }>
  /** How often every server's record is brought in line with its agent (default 15 s). */
  reconcileIntervalMs?: number
}

/**
 * The compute controller in the gateway process: flavors, the registry of
 * compute hosts, the scheduler, and servers. Records live in the control
 * store, so a restarted (or another) gateway carries on with them.
 */
export class ComputeController implements Startable {
  readonly flavors: Flavors
  readonly hypervisors: Hypervisors
  readonly servers: Servers
  private readonly options: ComputeControllerOptions
  private readonly logger: Logger
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private reconciling: Promise<void> = Promise.resolve()

  constructor (components: ComputeControllerComponents, options: ComputeControllerOptions) {
    this.options = options
    this.logger = components.logger
    this.flavors = new Flavors(components.control)
    this.hypervisors = new Hypervisors(components.control)
    this.servers = new Servers({ ...components, flavors: this.flavors, hypervisors: this.hypervisors, scheduler: new Scheduler(), nbd: options.nbd })
  }

  async start (): Promise<void> {
    await this.flavors.seed()
    for (const agent of this.options.agents) await this.hypervisors.add(agent.name, agent.address)
    const tick = (): void => {
      if (this.stopped) return
      this.reconciling = this.servers.reconcile().catch((err: unknown) => this.logger.warn({ err }, 'reconciling servers failed'))
      this.timer = setTimeout(() => { void this.reconciling.then(tick) }, this.options.reconcileIntervalMs ?? 15_000)
      this.timer.unref()
    }
    tick()
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
    await this.reconciling
    this.hypervisors.close()
  }
}
