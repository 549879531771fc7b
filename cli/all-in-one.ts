import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Logger } from '../lib/logger.ts'
import type { Startable } from '../lib/lifecycle.ts'
import { buildRing, type Ring } from '../ring/index.ts'
import { GrpcStorageNodeClient } from '../storage/index.ts'
import { ensureBootstrapCredentials, type BootstrapCredentials } from '../gateway/index.ts'
import { SupervisedProcess } from './supervised-process.ts'

export interface AllInOneConfig {
  dataDir: string
  host: string
  /** S3 (and later every HTTP API); 0 binds an ephemeral port. */
  httpPort: number
  /** Serves virtual-host style S3 for `<bucket>.<baseDomain>` as well. */
  baseDomain?: string
  /** First storage node port; 0 picks free ports when the ring is first built. */
  storagePortBase: number
  partPower: number
}

const NODES = 3
const REPLICAS = 3
const BIN = fileURLToPath(new URL('../bin/ringstack.js', import.meta.url))

/**
 * The one-machine cluster behind `ringstack up`: three storage nodes, each
 * its own process with its own data dir and zone, on a ring built on first
 * start and reused afterwards, and a gateway in front of them. Every role runs from a config file, exactly
 * as it would on its own host.
 */
export class AllInOne implements Startable {
  private readonly config: AllInOneConfig
  private readonly logger: Logger
  private readonly children: SupervisedProcess[] = []
  private ring: Ring | undefined
  private readonly ringPath: string
  private gateway: SupervisedProcess | undefined
  /** Set when this start created the bootstrap S3 key pair (it is shown once). */
  newCredentials: BootstrapCredentials | undefined

  constructor (config: AllInOneConfig, components: { logger: Logger }) {
    this.config = { ...config, dataDir: resolve(config.dataDir) }
    this.logger = components.logger
    this.ringPath = join(this.config.dataDir, 'ring', 'object.ring.gz')
  }

  async start (): Promise<void> {
    const { dataDir, host } = this.config
    await mkdir(join(dataDir, 'logs'), { recursive: true })
    const ports = await this.storagePorts()
    this.ring = await buildRing({
      ringDir: join(dataDir, 'ring'),
      partPower: this.config.partPower,
      replicas: REPLICAS,
      devices: ports.map((port, i) => ({ region: 1, zone: i + 1, host, port, device: 'd1', weight: 100 }))
    })
    const nodes = this.ring.devices.filter((d) => d !== undefined)
    for (const [i, device] of nodes.entries()) {
      const id = `node${i + 1}`
      const devicePath = join(dataDir, id, device.device)
      await mkdir(devicePath, { recursive: true })
      const configPath = join(dataDir, `${id}.json`)
      await writeFile(configPath, JSON.stringify({
        id, host: device.host, port: device.port, metricsPort: 0,
        devices: [{ name: device.device, path: devicePath }],
        ringPath: this.ringPath
      }, null, 2) + '\n')
      this.children.push(new SupervisedProcess({
        name: id,
        command: process.execPath,
        args: [BIN, 'storage', '--config', configPath],
        ready: /^storage node \S+ listening on /,
        logFile: join(dataDir, 'logs', `${id}.log`),
        logger: this.logger
      }))
    }
    await Promise.all(this.children.map(async (child) => await child.start()))
    await Promise.all(nodes.map(async (device) => await probe(`${device.host}:${device.port}`, device.device)))
    await this.startGateway()
  }

  /** The gateway starts last: it needs the ring and answering nodes. */
  private async startGateway (): Promise<void> {
    const { dataDir, host } = this.config
    const credentialsPath = join(dataDir, 's3-credentials.json')
    const { credentials, created } = await ensureBootstrapCredentials(credentialsPath)
    if (created) this.newCredentials = credentials
    const configPath = join(dataDir, 'gateway.json')
    await writeFile(configPath, JSON.stringify({
      id: 'gateway1', host, port: this.config.httpPort, metricsPort: 0, ringPath: this.ringPath, credentialsPath, baseDomain: this.config.baseDomain
    }, null, 2) + '\n')
    this.gateway = new SupervisedProcess({
      name: 'gateway1',
      command: process.execPath,
      args: [BIN, 'gateway', '--config', configPath],
      ready: /^gateway \S+ listening on (\S+)$/,
      logFile: join(dataDir, 'logs', 'gateway1.log'),
      logger: this.logger
    })
    this.children.push(this.gateway)
    await this.gateway.start()
  }

  get gatewayPid (): number | undefined {
    return this.gateway?.pid
  }

  /** The S3 endpoint, once started. */
  get httpEndpoint (): string {
    return `http://${this.gateway?.readyMatch?.[1] ?? ''}`
  }

  async stop (): Promise<void> {
    await Promise.all(this.children.map(async (child) => await child.stop()))
    this.children.length = 0
  }

  describe (): string {
    const nodes = (this.ring?.devices ?? []).filter((d) => d !== undefined).map((d) => `${d.host}:${d.port}`)
    return `http=${this.httpEndpoint} storage=${nodes.join(',')} ring=${this.ringPath} data=${this.config.dataDir}`
  }

  /** Ports for a ring about to be built; an existing ring keeps its own. */
  private async storagePorts (): Promise<number[]> {
    const base = this.config.storagePortBase
    if (base !== 0) return Array.from({ length: NODES }, (_, i) => base + i)
    return await Promise.all(Array.from({ length: NODES }, async () => await freePort(this.config.host)))
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

async function freePort (host: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}
