import { EtcdControlStore, LevelControlStore, type ControlStore } from '../lib/control-store/index.ts'
import { createLogger } from '../lib/logger.ts'
import { createRegistry } from '../lib/metrics.ts'
import { runUntilSignal } from '../lib/run-until-signal.ts'
import { RingWatcher } from '../ring/index.ts'
import { ReplicatedChunkStore } from '../storage/chunks/index.ts'
import { GrpcStorageNodeClient, HybridClock, ListingClient, Namespace, NodePool, ObjectClient } from '../storage/index.ts'
import { VolumeExports, VolumeService } from '../storage/volume/index.ts'
import { ImageService } from '../compute/images/index.ts'
import { ComputeController } from '../compute/index.ts'
import { readAdminCredentials, readBootstrapCredentials } from './bootstrap-credentials.ts'
import { loadGatewayConfig } from './config.ts'
import { Gateway } from './gateway.ts'
import { TokenService, Users } from './identity/index.ts'
import { NbdServer } from './nbd/index.ts'
import { MemoryCredentialStore } from './s3/auth/index.ts'

/**
 * Runs one gateway from its config file until SIGINT or SIGTERM: the
 * composition root that wires ring, node clients, object, listing and
 * chunk clients, the control store, volumes, images, the compute controller, identity, the HTTP APIs and
 * the NBD target together. Prints `gateway <id> listening on <host>:<port>`
 * (plus ` nbd <host>:<port>` with NBD) once it serves.
 */
export async function runGateway (configPath: string): Promise<void> {
  const config = await loadGatewayConfig(configPath)
  const logger = createLogger('gateway', { level: config.logLevel }).child({ gateway: config.id })
  const metrics = createRegistry({ role: 'gateway', gateway: config.id }, true)
  const ring = new RingWatcher({ path: config.ringPath, logger })
  const pool = new NodePool((address) => new GrpcStorageNodeClient(address))
  const clock = new HybridClock()
  const bootstrap = await readBootstrapCredentials(config.credentialsPath)
  const admin = await readAdminCredentials(config.adminCredentialsPath)
  const control: ControlStore = config.etcdEndpoint === undefined
    ? new LevelControlStore({ path: config.controlPath })
    : new EtcdControlStore({ endpoint: config.etcdEndpoint })
  const tokens = new TokenService({ control })
  let listings: ListingClient | undefined
  let chunks: ReplicatedChunkStore | undefined
  let volumes: VolumeService | undefined
  let images: ImageService | undefined
  let compute: ComputeController | undefined
  let gateway: Gateway | undefined
  let nbd: NbdServer | undefined
  await runUntilSignal(async () => {
    await ring.start()
    await control.start()
    await tokens.start()
    const users = new Users({ control })
    await users.ensureBootstrapAdmin(admin.password)
    const replicas = ring.current().replicas
    const objects = new ObjectClient({ placement: ring, pool, clock, logger }, { replicas })
    listings = new ListingClient({ placement: ring, pool, clock, logger }, { replicas })
    chunks = new ReplicatedChunkStore({ placement: ring, logger, metrics }, { replicas })
    volumes = new VolumeService({ control, chunks, logger }, { holder: config.id, leaseTtlMs: config.volumeLeaseTtlMs })
    await volumes.start()
    images = new ImageService({ control, volumes, logger: logger.child({ component: 'images' }) }, { holder: config.id })
    await images.start()
    // NBD serves before the controller starts, which tells agents its address.
    if (config.nbd !== undefined) {
      nbd = new NbdServer({ host: config.host, port: config.nbd.port, allow: config.nbd.allow, tls: config.nbd.tlsPskFile === undefined ? undefined : { pskFile: config.nbd.tlsPskFile } },
        { exports: new VolumeExports({ volumes }), logger: logger.child({ component: 'nbd' }), metrics })
      await nbd.start()
    }
    compute = new ComputeController({ control, volumes, images, logger: logger.child({ component: 'compute' }) }, {
      nbd: nbd === undefined ? undefined : { host: config.compute.nbdHost ?? config.host, port: nbd.port },
      agents: config.compute.agents
    })
    await compute.start()
    gateway = new Gateway({ host: config.host, port: config.port, metricsPort: config.metricsPort, baseDomain: config.baseDomain, region: config.region }, {
      namespace: new Namespace({ objects, listings, logger }),
      credentials: new MemoryCredentialStore([[bootstrap.accessKeyId, { secretAccessKey: bootstrap.secretAccessKey, principal: bootstrap.project }]]),
      users,
      tokens,
      volumes,
      images,
      compute,
      logger,
      metrics
    })
    await gateway.start()
  }, async () => {
    // Exports first: they drain their I/O and release the volumes' leases.
    await nbd?.stop()
    await gateway?.stop()
    await compute?.stop()
    await images?.stop()
    await volumes?.stop()
    chunks?.close()
    await listings?.flush()
    listings?.close()
    pool.close()
    await tokens.stop()
    await control.stop()
    await ring.stop()
  }, () => `gateway ${config.id} listening on ${gateway!.address}${nbd === undefined ? '' : ` nbd ${nbd.address}`}`, logger)
}
