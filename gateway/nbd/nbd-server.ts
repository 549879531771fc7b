import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { Startable } from '../../lib/lifecycle.ts'
import type { Logger } from '../../lib/logger.ts'
import type { Registry } from '../../lib/metrics.ts'
import type { ExportProvider } from '../../storage/volume/block-device.ts'
import { AccessList, DEFAULT_ALLOW } from './access.ts'
import { NbdConnection } from './connection.ts'
import { NbdMetrics } from './nbd-metrics.ts'
import { PskTls } from './tls-psk.ts'
import { hostPort } from '../../lib/host-port.ts'

/** The spec's interoperable default: clients may always send 32 MiB. */
const DEFAULT_MAX_PAYLOAD = 32 * 1024 * 1024
const MIN_MAX_PAYLOAD = 64 * 1024
const DEFAULT_DRAIN_TIMEOUT_MS = 10_000

export interface NbdServerOptions {
  host: string
  /** 0 binds an ephemeral port (see `port` after start). */
  port: number
  /**
   * Client addresses served: IPv4/IPv6 addresses and CIDR subnets; loopback
   * only when unset. Others get NBD_REP_ERR_POLICY for every option (ABORT
   * excepted) and EXPORT_NAME closes: they learn nothing about exports.
   */
  allow?: string[]
  /** When set, TLS with pre-shared keys is required (FORCEDTLS): a psktool file of `identity:hexkey` lines. */
  tls?: { pskFile: string } | undefined
  /** Largest READ/WRITE payload advertised (capped further by each device's maximum); default 32 MiB. */
  maxPayload?: number
  /** How long stop() lets requests in flight finish before dropping connections; default 10 s. */
  drainTimeoutMs?: number
}

export interface NbdServerComponents {
  exports: ExportProvider
  logger: Logger
  metrics: Registry
}

/** Serves block devices over NBD (fixed newstyle, structured replies, base:allocation, optional TLS-PSK). */
export class NbdServer implements Startable {
  private readonly options: NbdServerOptions
  private readonly components: NbdServerComponents
  private readonly log: Logger
  private readonly access: AccessList
  private readonly maxPayload: number
  private readonly metrics: NbdMetrics
  private readonly connections = new Set<NbdConnection>()
  private server: Server | undefined
  private tls: PskTls | undefined
  private stopping = false

  constructor (options: NbdServerOptions, components: NbdServerComponents) {
    this.options = options
    this.components = components
    this.log = components.logger.child({ component: 'nbd' })
    this.access = new AccessList(options.allow ?? DEFAULT_ALLOW)
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD
    if (!Number.isInteger(this.maxPayload) || this.maxPayload < MIN_MAX_PAYLOAD || this.maxPayload > 0xffffffff) {
      throw new Error(`nbd maxPayload must be an integer from ${MIN_MAX_PAYLOAD} to 2^32-1`)
    }
    this.metrics = new NbdMetrics(components.metrics)
  }

  get port (): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0
  }

  get address (): string {
    return hostPort(this.options.host, this.port)
  }

  async start (): Promise<void> {
    this.tls = this.options.tls === undefined ? undefined : await PskTls.load(this.options.tls.pskFile)
    const server = createServer((socket) => { this.accept(socket) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', (err) => { this.log.error({ err }, 'nbd listener failed') })
    this.server = server
    this.stopping = false
    this.log.info({ address: this.address, tls: this.tls !== undefined }, 'nbd listening')
  }

  /**
   * Stops accepting, lets each connection finish its requests in flight
   * (new ones get ESHUTDOWN, options ERR_SHUTDOWN), closes devices and
   * sockets; connections still busy after the drain timeout are dropped.
   */
  async stop (): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.stopping = true
    this.server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => { resolve() }))
    for (const connection of this.connections) connection.shutdown()
    if (!await settlesWithin(Promise.all([...this.connections].map(async (c) => { await c.done })), this.options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS)) {
      this.log.warn({ connections: this.connections.size }, 'nbd drain timed out; dropping connections')
      for (const connection of this.connections) connection.destroy()
    }
    await closed
    this.log.info('nbd stopped')
  }

  private accept (socket: Socket): void {
    if (this.stopping) {
      socket.destroy()
      return
    }
    const client = socket.remoteAddress
    const allowed = this.access.allows(client)
    const log = this.log.child({ client: `${client ?? '?'}:${socket.remotePort ?? 0}` })
    if (!allowed) log.warn('nbd client address not allowed; refusing every option')
    const connection = new NbdConnection(socket, { exports: this.components.exports, tls: this.tls, allowed, maxPayload: this.maxPayload, metrics: this.metrics, log })
    this.connections.add(connection)
    void connection.done.finally(() => { this.connections.delete(connection) })
  }
}

async function settlesWithin (promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<false>((resolve) => { timer = setTimeout(() => { resolve(false) }, ms) })
  try {
    return await Promise.race([promise.then(() => true), timedOut])
  } finally {
    clearTimeout(timer)
  }
}
