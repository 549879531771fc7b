import { ComputeError } from './errors.ts'
import { Instance, type InstanceComponents } from './instance.ts'
import { checkDisk, checkInstanceId, checkSpec } from './spec-checks.ts'
import type { Capacity, DiskSpec, InstanceInfo, InstanceSpec } from './types.ts'

export interface HypervisorLimits {
  agentId: string
  vcpus: number
  ramMiB: number
  stopTimeoutMs: number
}

/**
 * The instances of this host: capacity accounting, input checks, and the
 * way in to each instance. Every instance the agent knows holds its vCPUs
 * and RAM, running or not (as Nova counts), until it is deleted.
 */
export class Hypervisor {
  private readonly instances = new Map<string, Instance>()
  /** Creates under way: their id is taken and their size counted. */
  private readonly creating = new Map<string, InstanceSpec>()
  private readonly limits: HypervisorLimits
  private readonly components: InstanceComponents

  constructor (limits: HypervisorLimits, components: InstanceComponents) {
    this.limits = limits
    this.components = components
  }

  /** Re-adopts what a previous agent left: running QEMUs run on, dead ones are reported. */
  async load (): Promise<void> {
    const { store, logger } = this.components
    for (const id of await store.ids()) {
      const record = await store.read(id)
      if (record === undefined) {
        logger.warn({ instance: id }, 'instance directory without a record; removing it')
        await store.remove(id)
        continue
      }
      const instance = new Instance(record, this.components)
      this.instances.set(id, instance)
      await instance.adopt().catch((err: unknown) => logger.error({ err, instance: id }, 'adopting failed'))
    }
  }

  /** Lets go of every QEMU without stopping them: the next agent adopts them. */
  release (): void {
    for (const instance of this.instances.values()) instance.release()
  }

  states (): Iterable<Instance['state']> {
    return [...this.instances.values()].map((i) => i.state)
  }

  capacity (): Capacity {
    let vcpus = 0
    let ramMiB = 0
    for (const spec of [...[...this.instances.values()].map((i) => i.spec), ...this.creating.values()]) {
      vcpus += spec.vcpus
      ramMiB += spec.ramMiB
    }
    return {
      agentId: this.limits.agentId,
      vcpusTotal: this.limits.vcpus,
      vcpusFree: Math.max(0, this.limits.vcpus - vcpus),
      ramMiBTotal: this.limits.ramMiB,
      ramMiBFree: Math.max(0, this.limits.ramMiB - ramMiB),
      instances: this.instances.size + this.creating.size,
      accelerator: this.components.accelerator
    }
  }

  /** Creates and boots, or boots a stopped instance again with this spec. A create that fails leaves nothing behind. */
  async start (spec: InstanceSpec): Promise<InstanceInfo> {
    checkSpec(spec, this.components.store.paths(spec.id).consoleSocket)
    const existing = this.instances.get(spec.id)
    if (existing !== undefined) {
      this.checkFits(spec, existing.spec)
      return await existing.start(spec)
    }
    if (this.creating.has(spec.id)) throw new ComputeError('Conflict', `instance ${spec.id} is being created`)
    this.checkFits(spec)
    this.creating.set(spec.id, spec)
    const instance = new Instance({ spec, state: 'stopped', attachments: [], nextNode: 0 }, this.components)
    try {
      const info = await instance.start(spec)
      this.instances.set(spec.id, instance)
      return info
    } catch (err) {
      await instance.destroy().catch((cleanup: unknown) => this.components.logger.warn({ err: cleanup }, 'cleanup after a failed create'))
      throw err
    } finally {
      this.creating.delete(spec.id)
    }
  }

  async stop (id: string, timeoutMs = 0): Promise<InstanceInfo> {
    return await this.get(id).stop(timeoutMs > 0 ? timeoutMs : this.limits.stopTimeoutMs)
  }

  async reboot (id: string): Promise<InstanceInfo> {
    return await this.get(id).reboot()
  }

  async delete (id: string): Promise<void> {
    const instance = this.get(id)
    await instance.destroy()
    this.instances.delete(id)
  }

  info (id: string): InstanceInfo {
    return this.get(id).info()
  }

  list (): InstanceInfo[] {
    return [...this.instances.values()].map((i) => i.info())
  }

  async attach (id: string, disk: DiskSpec): Promise<InstanceInfo> {
    checkDisk(disk, 'disk')
    return await this.get(id).attach(disk)
  }

  async detach (id: string, serial: string): Promise<InstanceInfo> {
    return await this.get(id).detach(serial)
  }

  async console (id: string, maxBytes: number): Promise<Buffer> {
    return await this.get(id).consoleTail(maxBytes)
  }

  private get (id: string): Instance {
    checkInstanceId(id)
    const instance = this.instances.get(id)
    if (instance === undefined) throw new ComputeError('NotFound', `no instance ${id} on agent ${this.limits.agentId}`)
    return instance
  }

  /** `previous` is what the instance holds already (a restart with a changed size). */
  private checkFits (spec: InstanceSpec, previous?: InstanceSpec): void {
    const free = this.capacity()
    const vcpus = spec.vcpus - (previous?.vcpus ?? 0)
    const ramMiB = spec.ramMiB - (previous?.ramMiB ?? 0)
    if (vcpus > free.vcpusFree || ramMiB > free.ramMiBFree) {
      throw new ComputeError('InsufficientCapacity',
        `agent ${this.limits.agentId} has ${free.vcpusFree} vCPUs and ${free.ramMiBFree} MiB free; ${spec.id} needs ${spec.vcpus} and ${spec.ramMiB}`)
    }
  }
}
