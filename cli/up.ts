import { isIP } from 'node:net'
import { parseArgs } from 'node:util'
import { AllInOne } from './all-in-one.ts'
import { EXIT_OK, EXIT_USAGE, type CommandIO } from './io.ts'
import { createLogger } from '../lib/logger.ts'

const HELP = `usage: ringstack up [--data DIR] [--host ADDR] [--http-port N] [--nbd-port N]
                   [--nbd-allow CIDR,...] [--nbd-tls-psk FILE] [--base-domain DOMAIN]
                   [--storage-port-base N] [--compute-port N] [--part-power P]

Starts the all-in-one cluster: a ring (built on first start), three storage
nodes on three data dirs, a compute agent (QEMU guests) and a gateway serving
S3, the OpenStack identity, block-storage, image and compute APIs and NBD,
each a child process, all on ADDR. On first start default flavors (m1.tiny
...) are created, an S3 key pair is taken from RINGSTACK_S3_ACCESS_KEY / RINGSTACK_S3_SECRET_KEY
and the admin password from RINGSTACK_ADMIN_PASSWORD, or generated, stored in
DIR/s3-credentials.json and DIR/admin-credentials.json, and printed. Prints one line
starting with 'ringstack ready' once every node answers, then runs until
SIGINT/SIGTERM. Logs go to DIR/logs/.

  --data DIR               data directory (default ./data, kept across restarts)
  --host ADDR              address every role binds (default 127.0.0.1)
  --http-port N            S3 and OpenStack API port (default 8080; 0 picks a free one)
  --nbd-port N             NBD port for volumes (default 10809; 0 picks a free one)
  --nbd-allow LIST         client addresses/CIDR blocks NBD serves (default
                           127.0.0.0/8,::1)
  --nbd-tls-psk FILE       require NBD over TLS with the pre-shared keys in FILE
                           (identity:hexkey lines, as psktool writes them)
  --base-domain DOMAIN     also serve virtual-host style S3 (BUCKET.DOMAIN);
                           path style always works
  --storage-port-base N    storage nodes listen on N, N+1, N+2 (default 6200;
                           0 picks free ports on first start)
  --compute-port N         compute agent's gRPC port (default 6300; 0 picks a free
                           one on first start)
  --part-power P           partition power of a new ring (default 10)
  --replication-interval S seconds between the storage nodes' replication
                           passes (default 30)

Servers keep running when ringstack up stops (the next start's agent takes
them over again); delete them first to stop their QEMUs.`

export async function upCommand (argv: string[], io: CommandIO): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        data: { type: 'string', default: './data' },
        host: { type: 'string', default: '127.0.0.1' },
        'http-port': { type: 'string', default: '8080' },
        'nbd-port': { type: 'string', default: '10809' },
        'nbd-allow': { type: 'string' },
        'nbd-tls-psk': { type: 'string' },
        'base-domain': { type: 'string' },
        'storage-port-base': { type: 'string', default: '6200' },
        'compute-port': { type: 'string', default: '6300' },
        'part-power': { type: 'string', default: '10' },
        'replication-interval': { type: 'string', default: '30' },
        help: { type: 'boolean', short: 'h' }
      }
    }))
  } catch (err) {
    io.err(`ringstack up: ${(err as Error).message}`)
    return EXIT_USAGE
  }
  if (values.help === true) {
    io.out(HELP)
    return EXIT_OK
  }
  const portBase = Number(values['storage-port-base'])
  const partPower = Number(values['part-power'])
  const replicationSeconds = Number(values['replication-interval'])
  if (!(replicationSeconds > 0) || !Number.isFinite(replicationSeconds)) {
    io.err('ringstack up: --replication-interval must be a positive number of seconds')
    return EXIT_USAGE
  }
  const httpPort = Number(values['http-port'])
  const nbdPort = Number(values['nbd-port'])
  const computePort = Number(values['compute-port'])
  for (const [flag, port] of [['--http-port', httpPort], ['--nbd-port', nbdPort], ['--compute-port', computePort]] as const) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      io.err(`ringstack up: ${flag} must be a port number`)
      return EXIT_USAGE
    }
  }
  const baseDomain = values['base-domain']?.toLowerCase()
  if (baseDomain !== undefined && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(baseDomain)) {
    io.err('ringstack up: --base-domain must be a DNS name such as s3.example.com')
    return EXIT_USAGE
  }
  if (!Number.isInteger(portBase) || portBase < 0 || portBase > 65533) {
    io.err('ringstack up: --storage-port-base must be a port number')
    return EXIT_USAGE
  }
  if (!Number.isInteger(partPower) || partPower < 4 || partPower > 24) {
    io.err('ringstack up: --part-power must be an integer from 4 to 24')
    return EXIT_USAGE
  }

  const nbdAllow = values['nbd-allow']?.split(',').map((a) => a.trim()).filter((a) => a !== '')
  if (nbdAllow?.some((a) => isIP(a.split('/')[0]!) === 0) === true) {
    io.err('ringstack up: --nbd-allow takes addresses or CIDR blocks, e.g. 127.0.0.0/8,::1,10.0.0.0/24')
    return EXIT_USAGE
  }

  const cluster = new AllInOne({
    dataDir: values.data,
    host: values.host,
    httpPort,
    nbdPort,
    nbdAllow,
    nbdTlsPskFile: values['nbd-tls-psk'],
    baseDomain,
    storagePortBase: portBase,
    partPower,
    replicationIntervalMs: Math.round(replicationSeconds * 1000),
    computePort
  },
    // The terminal shows the ready line and warnings; each role's full log is in DATA/logs/.
    { logger: createLogger('ringstack-up', { level: process.env.RINGSTACK_LOG_LEVEL ?? 'warn' }) })
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      cluster.stop().then(resolve, resolve)
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
  try {
    await cluster.start()
  } catch (err) {
    await cluster.stop()
    throw err
  }
  const created = cluster.newCredentials
  if (created !== undefined) {
    io.out(`S3 credentials (shown once; kept in ${values.data}/s3-credentials.json):`)
    io.out(`  access key: ${created.accessKeyId}`)
    io.out(`  secret key: ${created.secretAccessKey}`)
  }
  const admin = cluster.newAdmin
  if (admin !== undefined) {
    io.out(`Admin login for the CLI and OpenStack APIs (shown once; kept in ${values.data}/admin-credentials.json):`)
    io.out(`  export RINGSTACK_USER=admin RINGSTACK_PROJECT=admin RINGSTACK_PASSWORD='${admin.password}'`)
  }
  io.out(`ringstack ready ${cluster.describe()}`)
  await stopped
  io.out('ringstack stopped')
  return EXIT_OK
}
