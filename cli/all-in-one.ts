import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { join, resolve } from 'node:path'
import type { Logger } from '../lib/logger.ts'
import type { Startable } from '../lib/lifecycle.ts'
import { buildRing, Ring } from '../ring/index.ts'
import { GrpcStorageNodeClient } from '../storage/index.ts'
import { ensureAdminCredentials, ensureBootstrapCredentials, type AdminCredentials, type BootstrapCredentials } from '../gateway/index.ts'
import { SupervisedProcess } from './supervised-process.ts'
import { hostPort } from '../lib/host-port.ts'
import { packagePath } from '../lib/package-path.ts'

export interface AllInOneConfig {
  dataDir: string
  host: string
  /** S3 (and later every HTTP API); 0 binds an ephemeral port. */
  httpPort: number
  /** Serves virtual-host style S3 for `<bucket>.<baseDomain>` as well. */
  baseDomain?: string
  /** First storage node port; 0 lets the nodes bind free ports when the ring is first built. */
  storagePortBase: number
  /** The NBD target for volumes; 0 binds an ephemeral port, undefined serves no NBD. */
  nbdPort?: number
  /** Client addresses or CIDR blocks the NBD target serves (loopback when absent). */
  nbdAllow?: string[]
  /** Require NBD over TLS with the pre-shared keys in this `identity:hexkey` file. */
  nbdTlsPskFile?: string
  partPower: number
  /** Pause between the storage nodes' replication passes (their default when absent). */
  replicationIntervalMs?: number
  /** The compute agent's gRPC port (0 binds an ephemeral one on first start, kept for restarts); undefined runs no agent. */
  computePort?: number
}

const NODES = 3
const REPLICAS = 3
const DEVICE = 'd1'
const BIN = packagePath('bin', 'ringstack.js')
/**
 * The children share one host, so V8's helper GC threads only compete with
 * the other children for the same cores: with --single-threaded-gc the
 * S3 bench's processes spent 16-40% less user CPU per byte (most on 8 MiB
 * bodies, whose buffers make GC the largest cost).
 */
const CHILD_NODE_FLAGS = ['--single-threaded-gc']
/** Nova's default cpu_allocation_ratio: idle guests share cores well; RAM is not overcommitted. */
const VCPUS_PER_CORE = 16
const AGENT_ID = 'compute1'

/**
 * The one-machine cluster behind `ringstack up`: three storage nodes, each
 * its own process with its own data dir and zone, on a ring built on first
 * start and reused afterwards, a compute agent, and a gateway in front of
 * them that registers the agent with its compute controller. Every role
 * runs from a config file, exactly as it would on its own host.
 */
export class AllInOne implements Startable {
  private readonly config: AllInOneConfig
  private readonly logger: Logger
  private readonly children: SupervisedProcess[] = []
  private ring: Ring | undefined
  private readonly ringPath: string
  private gateway: SupervisedProcess | undefined
  private agent: SupervisedProcess | undefined
  /** Set when this start created the bootstrap S3 key pair (it is shown once). */
  newCredentials: BootstrapCredentials | undefined
  /** Set when this start created the admin login (it is shown once). */
  newAdmin: AdminCredentials | undefined

  constructor (config: AllInOneConfig, components: { logger: Logger }) {
    this.config = { ...config, dataDir: resolve(config.dataDir) }
    this.logger = components.logger
    this.ringPath = join(this.config.dataDir, 'ring', 'object.ring.gz')
  }

  async start (): Promise<void> {
    const { dataDir, host } = this.config
    await mkdir(join(dataDir, 'logs'), { recursive: true })
    const existing = await Ring.load(this.ringPath).catch(() => undefined)
    // A ring fixes the nodes' ports. Without one, nodes asked for port 0 bind
    // ephemeral ports themselves (no pick-then-bind race) and the ring is
    // built from the ports they report.
    const ports = existing !== undefined
      ? existing.devices.filter((d) => d !== undefined).map((d) => d.port)
      : Array.from({ length: NODES }, (_, i) => this.config.storagePortBase === 0 ? 0 : this.config.storagePortBase + i)
    const nodes = ports.map((port, i) => ({ id: `node${i + 1}`, port, devicePath: join(dataDir, `node${i + 1}`, DEVICE) }))
    for (const node of nodes) {
      await mkdir(node.devicePath, { recursive: true })
      await this.writeNodeConfig(node)
      this.children.push(new SupervisedProcess({
        name: node.id,
        command: process.execPath,
        args: [...CHILD_NODE_FLAGS, BIN, 'storage', '--config', this.nodeConfigPath(node.id)],
        ready: /^storage node \S+ listening on (\S+)$/,
        logFile: join(dataDir, 'logs', `${node.id}.log`),
        logger: this.logger
      }))
    }
    await Promise.all(this.children.map(async (child) => await child.start()))
    const bound = this.children.map((child) => Number(/:(\d+)$/.exec(child.readyMatch?.[1] ?? '')?.[1]))
    if (existing === undefined) {
      // Restarts must come back on the ports the ring now names.
      for (const [i, node] of nodes.entries()) await this.writeNodeConfig({ ...node, port: bound[i]! })
    }
    this.ring = existing ?? await buildRing({
      ringDir: join(dataDir, 'ring'),
      partPower: this.config.partPower,
      replicas: REPLICAS,
      devices: bound.map((port, i) => ({ region: 1, zone: i + 1, host, port, device: DEVICE, weight: 100 }))
    })
    await Promise.all(bound.map(async (port) => await probe(hostPort(host, port), DEVICE)))
    const agentAddress = this.config.computePort === undefined ? undefined : await this.startAgent(this.config.computePort)
    await this.startGateway(agentAddress)
  }

  private get agentConfigPath (): string {
    return join(this.config.dataDir, `${AGENT_ID}.json`)
  }

  /** The agent's config names the port it first bound, so a restarted agent is where the controller's registry says. */
  private async writeAgentConfig (port: number): Promise<void> {
    await writeFile(this.agentConfigPath, JSON.stringify({
      id: AGENT_ID, host: this.config.host, port, metricsPort: 0, dataDir: join(this.config.dataDir, 'compute'), vcpus: cpus().length * VCPUS_PER_CORE
    }, null, 2) + '\n')
  }

  /** Starts the compute agent; resolves with its address. */
  private async startAgent (port: number): Promise<string> {
    const existing = await readFile(this.agentConfigPath, 'utf8').then((text) => JSON.parse(text) as { port: number }, () => undefined)
    await this.writeAgentConfig(existing?.port ?? port)
    this.agent = new SupervisedProcess({
      name: AGENT_ID,
      command: process.execPath,
      args: [...CHILD_NODE_FLAGS, BIN, 'compute', '--config', this.agentConfigPath],
      ready: /^compute agent \S+ listening on (\S+)$/,
      logFile: join(this.config.dataDir, 'logs', `${AGENT_ID}.log`),
      logger: this.logger
    })
    this.children.push(this.agent)
    await this.agent.start()
    const address = this.agent.readyMatch![1]!
    await this.writeAgentConfig(Number(/:(\d+)$/.exec(address)![1]))
    return address
  }

  private nodeConfigPath (id: string): string {
    return join(this.config.dataDir, `${id}.json`)
  }

  private async writeNodeConfig (node: { id: string, port: number, devicePath: string }): Promise<void> {
    await writeFile(this.nodeConfigPath(node.id), JSON.stringify({
      id: node.id, host: this.config.host, port: node.port, metricsPort: 0,
      devices: [{ name: DEVICE, path: node.devicePath }],
      ringPath: this.ringPath,
      replicationIntervalMs: this.config.replicationIntervalMs
    }, null, 2) + '\n')
  }

  /** The gateway starts last: it needs the ring and answering nodes, and registers the agent. */
  private async startGateway (agentAddress: string | undefined): Promise<void> {
    const { dataDir, host } = this.config
    const credentialsPath = join(dataDir, 's3-credentials.json')
    const { credentials, created } = await ensureBootstrapCredentials(credentialsPath)
    if (created) this.newCredentials = credentials
    const adminCredentialsPath = join(dataDir, 'admin-credentials.json')
    const admin = await ensureAdminCredentials(adminCredentialsPath)
    if (admin.created) this.newAdmin = admin.credentials
    const configPath = join(dataDir, 'gateway.json')
    const writeConfig = async (port: number, nbdPort: number | undefined): Promise<void> => {
      await writeFile(configPath, JSON.stringify({
        id: 'gateway1',
        host,
        port,
        metricsPort: 0,
        ringPath: this.ringPath,
        credentialsPath,
        adminCredentialsPath,
        controlPath: join(dataDir, 'control'),
        baseDomain: this.config.baseDomain,
        nbd: nbdPort === undefined
          ? undefined
          : { port: nbdPort, allow: this.config.nbdAllow, tlsPskFile: this.config.nbdTlsPskFile === undefined ? undefined : resolve(this.config.nbdTlsPskFile) },
        compute: { agents: agentAddress === undefined ? [] : [{ name: AGENT_ID, address: agentAddress }] }
      }, null, 2) + '\n')
    }
    await writeConfig(this.config.httpPort, this.config.nbdPort)
    this.gateway = new SupervisedProcess({
      name: 'gateway1',
      command: process.execPath,
      args: [...CHILD_NODE_FLAGS, BIN, 'gateway', '--config', configPath],
      ready: /^gateway \S+ listening on (\S+)(?: nbd (\S+))?$/,
      logFile: join(dataDir, 'logs', 'gateway1.log'),
      logger: this.logger
    })
    this.children.push(this.gateway)
    await this.gateway.start()
    // A gateway the supervisor restarts comes back where clients and servers' disks (NBD) expect it, even on ports first picked free.
    const portOf = (address: string | undefined): number | undefined => address === undefined ? undefined : Number(/:(\d+)$/.exec(address)![1])
    await writeConfig(portOf(this.gateway.readyMatch![1])!, portOf(this.gateway.readyMatch![2]))
  }

  get gatewayPid (): number | undefined {
    return this.gateway?.pid
  }

  /** The S3 endpoint, once started. */
  get httpEndpoint (): string {
    return `http://${this.gateway?.readyMatch?.[1] ?? ''}`
  }

  /** `host:port` of the NBD target, once started (undefined without one). */
  get nbdEndpoint (): string | undefined {
    return this.gateway?.readyMatch?.[2]
  }

  async stop (): Promise<void> {
    await Promise.all(this.children.map(async (child) => await child.stop()))
    this.children.length = 0
  }

  describe (): string {
    const nodes = (this.ring?.devices ?? []).filter((d) => d !== undefined).map((d) => `${d.host}:${d.port}`)
    const nbd = this.nbdEndpoint === undefined ? '' : ` nbd=${this.nbdEndpoint}`
    return `http=${this.httpEndpoint} storage=${nodes.join(',')} ring=${this.ringPath} data=${this.config.dataDir}${nbd}${this.agent === undefined ? '' : ` compute=${this.agent.readyMatch?.[1] ?? ''}`}`
  }
}

/** "Every role answers": a real request, not just an open port. */
async function probe (address: string, device: string): Promise<void> {
  const client = new GrpcStorageNodeClient(address)
  try {
    await client.head({ device, partition: 0, account: '.probe', container: '.probe', object: '.probe' },
      { deadline: Date.now() + 10_000 })
  } finally {
    client.close()
  }
}
