import { credentials, type CallOptions, type ChannelOptions, type ServiceError } from '@grpc/grpc-js'
import type { ConsoleReply__Output } from '../proto/gen/ringstack/compute/v1/ConsoleReply.ts'
import type { InstanceList__Output } from '../proto/gen/ringstack/compute/v1/InstanceList.ts'
import type { ComputeAgentClient as ProtoClient } from '../proto/gen/ringstack/compute/v1/ComputeAgent.ts'
import { ComputeError } from './agent/errors.ts'
import { fromServiceError } from './agent/grpc-status.ts'
import { capacityFromProto, diskToProto, infoFromProto, specToProto } from './agent/proto-convert.ts'
import { loadComputeAgent } from './agent/proto.ts'
import type { Capacity, DiskSpec, InstanceInfo, InstanceSpec } from './agent/types.ts'

const CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  // An agent that restarts is used again within a second or so.
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.enable_http_proxy': 0
}

export interface AgentCallOptions {
  /** Milliseconds; the default suits each call (a boot or a stop takes long). */
  timeoutMs?: number
}

/** A status call answers at once; a boot waits for QEMU to open its disks; a stop for the guest to power off. */
const QUICK_MS = 10_000
const SLOW_MS = 120_000

/**
 * The typed client for one compute agent at `host:port`, as the controller
 * uses it. Every failure is a ComputeError: the agent's own code, or
 * Unavailable when it cannot be reached.
 */
export class ComputeAgentClient {
  readonly address: string
  private readonly client: ProtoClient

  constructor (address: string, channelOptions: ChannelOptions = {}) {
    this.address = address
    const ComputeAgent = loadComputeAgent()
    this.client = new ComputeAgent(address, credentials.createInsecure(), { ...CHANNEL_OPTIONS, ...channelOptions })
  }

  async capacity (options: AgentCallOptions = {}): Promise<Capacity> {
    return capacityFromProto(await this.call((o, cb) => this.client.Capacity({}, o, cb), options, QUICK_MS))
  }

  /** Creates and boots an instance, or boots a stopped one again (its live attachments come back). */
  async startInstance (spec: InstanceSpec, options: AgentCallOptions = {}): Promise<InstanceInfo> {
    return infoFromProto(await this.call((o, cb) => this.client.StartInstance(specToProto(spec), o, cb), options, SLOW_MS))
  }

  /** ACPI power off; QEMU quits after `guestTimeoutMs` (the agent's default when unset) if the guest ignores it. */
  async stopInstance (id: string, guestTimeoutMs = 0, options: AgentCallOptions = {}): Promise<InstanceInfo> {
    return infoFromProto(await this.call((o, cb) => this.client.StopInstance({ id, timeoutMs: guestTimeoutMs }, o, cb),
      options, SLOW_MS + guestTimeoutMs))
  }

  async rebootInstance (id: string, options: AgentCallOptions = {}): Promise<InstanceInfo> {
    return infoFromProto(await this.call((o, cb) => this.client.RebootInstance({ id }, o, cb), options, QUICK_MS))
  }

  async deleteInstance (id: string, options: AgentCallOptions = {}): Promise<void> {
    await this.call((o, cb) => this.client.DeleteInstance({ id }, o, cb), options, SLOW_MS)
  }

  async getInstance (id: string, options: AgentCallOptions = {}): Promise<InstanceInfo> {
    return infoFromProto(await this.call((o, cb) => this.client.GetInstance({ id }, o, cb), options, QUICK_MS))
  }

  async listInstances (options: AgentCallOptions = {}): Promise<InstanceInfo[]> {
    const reply = await this.call<InstanceList__Output>((o, cb) => this.client.ListInstances({}, o, cb), options, QUICK_MS)
    return reply.instances.map(infoFromProto)
  }

  /** Hot-plugs a volume (serial = volume id) into a running instance. */
  async attachVolume (instanceId: string, disk: Omit<DiskSpec, 'boot'>, options: AgentCallOptions = {}): Promise<InstanceInfo> {
    return infoFromProto(await this.call((o, cb) => this.client.AttachVolume({ instanceId, disk: diskToProto({ ...disk, boot: false }) }, o, cb),
      options, SLOW_MS))
  }

  /** Hot-unplugs the volume with this serial; resolves once QEMU has closed its NBD connection. */
  async detachVolume (instanceId: string, serial: string, options: AgentCallOptions = {}): Promise<InstanceInfo> {
    return infoFromProto(await this.call((o, cb) => this.client.DetachVolume({ instanceId, serial }, o, cb), options, SLOW_MS))
  }

  /** The last `maxBytes` of the serial console (all the agent keeps when 0). */
  async console (id: string, maxBytes = 0, options: AgentCallOptions = {}): Promise<Buffer> {
    return (await this.call<ConsoleReply__Output>((o, cb) => this.client.GetConsole({ id, maxBytes }, o, cb), options, QUICK_MS)).data
  }

  close (): void {
    this.client.close()
  }

  private async call<T> (invoke: (options: CallOptions, callback: (err: ServiceError | null, value?: T) => void) => void,
    options: AgentCallOptions, defaultMs: number): Promise<T> {
    const deadline = Date.now() + (options.timeoutMs ?? defaultMs)
    return await new Promise((resolve, reject) => {
      invoke({ deadline }, (err, value) => {
        if (err !== null) reject(fromServiceError(err, this.address))
        else if (value === undefined) reject(new ComputeError('Internal', `compute agent ${this.address}: empty reply`))
        else resolve(value)
      })
    })
  }
}
