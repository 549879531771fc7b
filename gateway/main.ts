import { createLogger } from '../lib/logger.ts'
import { createRegistry } from '../lib/metrics.ts'
import { runUntilSignal } from '../lib/run-until-signal.ts'
import { RingWatcher } from '../ring/index.ts'
import { GrpcStorageNodeClient, HybridClock, ListingClient, Namespace, NodePool, ObjectClient } from '../storage/index.ts'
import { readBootstrapCredentials } from './bootstrap-credentials.ts'
import { loadGatewayConfig } from './config.ts'
import { Gateway } from './gateway.ts'
import { MemoryCredentialStore } from './s3/auth/index.ts'

/**
 * Runs one gateway from its config file until SIGINT or SIGTERM: the
 * composition root that wires ring, node clients, object and listing
 * clients and the HTTP APIs together. Prints `gateway <id> listening on
 * <host>:<port>` once it serves.
 */
export async function runGateway (configPath: string): Promise<void> {
  const config = await loadGatewayConfig(configPath)
  const logger = createLogger('gateway', { level: config.logLevel }).child({ gateway: config.id })
  const ring = new RingWatcher({ path: config.ringPath, logger })
  const pool = new NodePool((address) => new GrpcStorageNodeClient(address))
  const clock = new HybridClock()
  const bootstrap = await readBootstrapCredentials(config.credentialsPath)
  let listings: ListingClient | undefined
  let gateway: Gateway | undefined
  await runUntilSignal(async () => {
    await ring.start()
    const replicas = ring.current().replicas
    const objects = new ObjectClient({ placement: ring, pool, clock, logger }, { replicas })
    listings = new ListingClient({ placement: ring, pool, clock, logger }, { replicas })
    gateway = new Gateway({ host: config.host, port: config.port, metricsPort: config.metricsPort, baseDomain: config.baseDomain, region: config.region }, {
      namespace: new Namespace({ objects, listings, logger }),
      credentials: new MemoryCredentialStore([[bootstrap.accessKeyId, { secretAccessKey: bootstrap.secretAccessKey, principal: bootstrap.project }]]),
      logger,
      metrics: createRegistry({ role: 'gateway', gateway: config.id }, true)
    })
    await gateway.start()
  }, async () => {
    await gateway?.stop()
    await listings?.flush()
    listings?.close()
    pool.close()
    await ring.stop()
  }, () => `gateway ${config.id} listening on ${gateway!.address}`, logger)
}
