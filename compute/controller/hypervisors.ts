import { ComputeAgentClient } from '../agent-client.ts'
import type { Capacity } from '../agent/types.ts'
import type { ControlStore } from '../../lib/control-store/index.ts'
import { ServerError } from './errors.ts'
import { keys, type HypervisorRecord } from './records.ts'

/** A registered host with what it answered (or why it did not). */
export interface HypervisorView {
  record: HypervisorRecord
  capacity?: Capacity
  /** Why it could not be asked. */
  down?: string
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
/** A capacity probe is quick; a host that takes longer is as good as down to the scheduler. */
const PROBE_MS = 3_000

/**
 * The compute hosts (agents) this cluster may place servers on, kept in
 * the control store so every gateway sees the same set, with one gRPC
 * client per agent address.
 */
export class Hypervisors {
  private readonly control: ControlStore
  private readonly clients = new Map<string, ComputeAgentClient>()

  constructor (control: ControlStore) {
    this.control = control
  }

  /** Registers a host, or points a registered one at a new address (an agent that moved or restarted on another port). */
  async add (name: string, address: string): Promise<HypervisorRecord> {
    if (!NAME.test(name)) throw new ServerError('InvalidArgument', `hypervisor name must match ${NAME.source}`)
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(address) || Number(address.split(':').at(-1)) > 65535) {
      throw new ServerError('InvalidArgument', `hypervisor address must be host:port, not ${JSON.stringify(address)}`)
    }
    const current = await this.control.get<HypervisorRecord>(keys.hypervisor(name))
    const record: HypervisorRecord = { name, address, addedAt: current?.value.addedAt ?? new Date().toISOString() }
    if (current?.value.address !== address) await this.control.commit([], [{ type: 'put', key: keys.hypervisor(name), value: record }])
    return record
  }

  async remove (name: string): Promise<void> {
    await this.get(name)
    await this.control.commit([], [{ type: 'delete', key: keys.hypervisor(name) }])
  }

  async get (name: string): Promise<HypervisorRecord> {
    const record = await this.control.get<HypervisorRecord>(keys.hypervisor(name))
    if (record === undefined) throw new ServerError('NotFound', `Hypervisor ${name} could not be found.`)
    return record.value
  }

  async list (): Promise<HypervisorRecord[]> {
    return (await this.control.list<HypervisorRecord>(keys.hypervisors)).map((r) => r.value)
  }

  /** Every registered host, each asked for its capacity at once. */
  async survey (): Promise<HypervisorView[]> {
    return await Promise.all((await this.list()).map(async (record) => {
      try {
        return { record, capacity: await this.client(record.address).capacity({ timeoutMs: PROBE_MS }) }
      } catch (err) {
        return { record, down: (err as Error).message }
      }
    }))
  }

  /** The agent client of a registered host. */
  async agent (name: string): Promise<ComputeAgentClient> {
    return this.client((await this.get(name)).address)
  }

  close (): void {
    for (const client of this.clients.values()) client.close()
    this.clients.clear()
  }

  private client (address: string): ComputeAgentClient {
    let client = this.clients.get(address)
    if (client === undefined) {
      client = new ComputeAgentClient(address)
      this.clients.set(address, client)
    }
    return client
  }
}
