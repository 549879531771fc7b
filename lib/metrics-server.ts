import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import type { Startable } from './lifecycle.ts'
import type { Logger } from './logger.ts'

/** Serves the registry at GET /metrics over plain HTTP for Prometheus to scrape. */
export class MetricsServer implements Startable {
  private readonly host: string
  private readonly requestedPort: number
  private readonly registry: Registry
  private readonly logger: Logger
  private server: Server | undefined

  constructor (host: string, port: number, registry: Registry, logger: Logger) {
    this.host = host
    this.requestedPort = port
    this.registry = registry
    this.logger = logger
  }

  /** The bound port (the ephemeral one when configured as 0). */
  get port (): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0
  }

  async start (): Promise<void> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404).end()
        return
      }
      this.registry.metrics().then((body) => {
        res.writeHead(200, { 'content-type': this.registry.contentType }).end(body)
      }, (err: unknown) => {
        this.logger.error({ err }, 'metrics collection failed')
        res.writeHead(500).end()
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.requestedPort, this.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.server = server
    this.logger.info({ port: this.port }, 'metrics listening')
  }

  async stop (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server === undefined) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
