import type { AddressInfo } from 'node:net'
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { RingstackError } from '../lib/errors.ts'
import type { Startable } from '../lib/lifecycle.ts'
import type { Logger } from '../lib/logger.ts'
import { MetricsServer } from '../lib/metrics-server.ts'
import type { Registry } from '../lib/metrics.ts'
import type { VolumeService } from '../storage/volume/index.ts'
import type { ImageService } from '../compute/images/index.ts'
import type { ComputeController } from '../compute/index.ts'
import { registerComputeApi } from './compute/index.ts'
import { registerKeystoneApi, type TokenService, type Users } from './identity/index.ts'
import { registerImageApi } from './images/index.ts'
import { addApiConstraint } from './openstack/api-constraint.ts'
import { registerS3Api, s3FrameworkErrors, type S3ApiComponents, type S3ApiOptions } from './s3/s3-api.ts'
import { registerVolumeApi } from './volumes/index.ts'
import { ObjectExpirer, registerSwiftApi } from './swift/index.ts'
import { hostPort } from '../lib/host-port.ts'

export interface GatewayConfig extends S3ApiOptions {
  host: string
  /** HTTP APIs; 0 binds an ephemeral port. */
  port: number
  metricsPort: number
}

export interface GatewayComponents extends S3ApiComponents {
  users: Users
  tokens: TokenService
  volumes: VolumeService
  images: ImageService
  compute: ComputeController
  logger: Logger
  metrics: Registry
}

/**
 * The stateless front door: HTTP APIs on one port (S3, Swift, and OpenStack's
 * identity, block-storage, image and compute APIs under /identity, /volume, /image and /compute, told apart
 * from S3 by how requests authenticate), Prometheus metrics on another, so
 * no bucket name can shadow an operator endpoint.
 */
export class Gateway implements Startable {
  private readonly config: GatewayConfig
  private readonly components: GatewayComponents
  private app: FastifyInstance | undefined
  private readonly metricsServer: MetricsServer
  private expirer: ObjectExpirer | undefined

  constructor (config: GatewayConfig, components: GatewayComponents) {
    this.config = config
    this.components = components
    this.metricsServer = new MetricsServer(config.host, config.metricsPort, components.metrics, components.logger)
  }

  get port (): number {
    return (this.app?.server.address() as AddressInfo | null)?.port ?? 0
  }

  get address (): string {
    return hostPort(this.config.host, this.port)
  }

  get metricsPort (): number {
    return this.metricsServer.port
  }

  async start (): Promise<void> {
    const app = fastify({
      loggerInstance: this.components.logger as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: true }),
      exposeHeadRoutes: false,
      // Object keys are arbitrary bytes; S3 routing parses the raw URL itself.
      routerOptions: { ignoreDuplicateSlashes: false, maxParamLength: 8192 },
      return503OnClosing: true,
      frameworkErrors: s3FrameworkErrors(this.components.logger),
      forceCloseConnections: 'idle'
    })
    // Bodies are streamed by the handlers, never parsed or buffered by fastify.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
    addApiConstraint(app)
    registerS3Api(app, this.components, this.config)
    const { namespace, users, logger } = this.components
    this.expirer = new ObjectExpirer({ namespace, logger: logger.child({ component: 'expirer' }) })
    registerSwiftApi(app, {
      ...this.components,
      expirer: this.expirer,
      login: async (request) => {
        const principal = await users.login(request.user.name, request.password, request.project.name)
        if (principal === undefined) throw new RingstackError('Unauthorized', 'login refused')
        return principal
      }
    })
    registerKeystoneApi(app, this.components)
    registerVolumeApi(app, { ...this.components, attachedTo: async (volumeId) => await this.components.compute.servers.attachmentOf(volumeId) })
    registerImageApi(app, this.components)
    registerComputeApi(app, this.components)
    await app.listen({ host: this.config.host, port: this.config.port })
    this.app = app
    await this.metricsServer.start()
    await this.expirer.start()
    this.components.logger.info({ address: this.address }, 'gateway listening')
  }

  async stop (): Promise<void> {
    await this.expirer?.stop()
    await this.app?.close()
    this.app = undefined
    await this.metricsServer.stop()
  }
}
