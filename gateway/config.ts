import { isIP } from 'node:net'
import { resolve } from 'node:path'
import { invalidConfig, isRecord, logLevelOf, onlyKeys, portOf, readConfigFile } from '../lib/config-file.ts'

export interface NbdFileConfig {
  /** 0 binds an ephemeral port. */
  port: number
  /** Client addresses or CIDR blocks (IPv4 or IPv6) allowed to connect; loopback only by default. */
  allow: string[]
  /** When set, clients must use NBD's TLS with a pre-shared key from this `identity:hexkey` file. */
  tlsPskFile?: string
}

export interface ComputeFileConfig {
  /** Compute agents registered (or re-pointed) with the controller on start; more come through the API. */
  agents: Array<{ name: string, address: string }>
  /** The address agents reach this gateway's NBD target at (default: the address NBD binds). */
  nbdHost?: string
}

export interface GatewayFileConfig {
  id: string
  host: string
  /** HTTP APIs (S3, OpenStack); 0 binds an ephemeral port. */
  port: number
  metricsPort: number
  /** The object ring file, watched for new versions. */
  ringPath: string
  /** JSON file with the bootstrap S3 key pair: { accessKeyId, secretAccessKey, project }. */
  credentialsPath: string
  /** JSON file with the bootstrap admin login: { user, project, password }. */
  adminCredentialsPath: string
  /** Directory of the embedded control store (volumes, leases, identity). */
  controlPath: string
  /** An etcd client URL: the control store lives there instead, shared by every gateway of the cluster. */
  etcdEndpoint?: string
  /** Enables virtual-host style S3 addressing (`bucket.<baseDomain>`). */
  baseDomain?: string
  region: string
  /** The NBD target for volumes; absent means no NBD. */
  nbd?: NbdFileConfig
  /** A dead volume writer's lease lapses after this long. */
  volumeLeaseTtlMs: number
  /** The compute controller's settings; it runs in every gateway (with no agents until some are registered). */
  compute: ComputeFileConfig
  logLevel: string
}

const KEYS = new Set(['id', 'host', 'port', 'metricsPort', 'ringPath', 'credentialsPath', 'adminCredentialsPath', 'controlPath', 'etcdEndpoint',
  'baseDomain', 'region', 'nbd', 'volumeLeaseTtlMs', 'compute', 'logLevel'])
const NBD_KEYS = new Set(['port', 'allow', 'tlsPskFile'])
const COMPUTE_KEYS = new Set(['agents', 'nbdHost'])

function requiredString (raw: Record<string, unknown>, key: string, where: string): string {
  const value = raw[key]
  if (typeof value !== 'string' || value === '') throw invalidConfig(where, `"${key}" must be a non-empty string`)
  return value
}

function nbdConfig (raw: unknown, baseDir: string, where: string): NbdFileConfig | undefined {
  if (raw === undefined) return undefined
  if (!isRecord(raw)) throw invalidConfig(where, '"nbd" must be an object')
  onlyKeys(raw, NBD_KEYS, `${where} (nbd)`)
  const allow = raw.allow ?? ['127.0.0.0/8', '::1']
  if (!Array.isArray(allow) || !allow.every((a) => typeof a === 'string' && isIP(a.split('/')[0]!) !== 0)) {
    throw invalidConfig(where, '"nbd.allow" must be a list of addresses or CIDR blocks')
  }
  return {
    port: portOf(raw.port ?? 10809, '"nbd.port"', where),
    allow,
    tlsPskFile: raw.tlsPskFile === undefined ? undefined : resolve(baseDir, requiredString(raw, 'tlsPskFile', where))
  }
}

function computeConfig (raw: unknown, where: string): ComputeFileConfig {
  if (raw === undefined) return { agents: [] }
  if (!isRecord(raw)) throw invalidConfig(where, '"compute" must be an object')
  onlyKeys(raw, COMPUTE_KEYS, `${where} (compute)`)
  const agents = raw.agents ?? []
  if (!Array.isArray(agents) || !agents.every((a) => isRecord(a) && typeof a.name === 'string' && typeof a.address === 'string')) {
    throw invalidConfig(where, '"compute.agents" must be a list of { "name", "address": "host:port" }')
  }
  return {
    agents: agents.map((a: Record<string, unknown>) => ({ name: a.name as string, address: a.address as string })),
    nbdHost: raw.nbdHost === undefined ? undefined : requiredString(raw, 'nbdHost', where)
  }
}

export async function loadGatewayConfig (path: string): Promise<GatewayFileConfig> {
  const { raw, baseDir } = await readConfigFile(path)
  const where = path
  if (!isRecord(raw)) throw invalidConfig(where, 'must be a JSON object')
  onlyKeys(raw, KEYS, where)
  const baseDomain = raw.baseDomain === undefined ? undefined : requiredString(raw, 'baseDomain', where)
  const ttl = raw.volumeLeaseTtlMs ?? 15_000
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1000) throw invalidConfig(where, '"volumeLeaseTtlMs" must be an integer >= 1000')
  return {
    id: requiredString(raw, 'id', where),
    host: raw.host === undefined ? '127.0.0.1' : requiredString(raw, 'host', where),
    port: portOf(raw.port, '"port"', where),
    metricsPort: portOf(raw.metricsPort ?? 0, '"metricsPort"', where),
    ringPath: resolve(baseDir, requiredString(raw, 'ringPath', where)),
    credentialsPath: resolve(baseDir, requiredString(raw, 'credentialsPath', where)),
    adminCredentialsPath: resolve(baseDir, requiredString(raw, 'adminCredentialsPath', where)),
    controlPath: resolve(baseDir, requiredString(raw, 'controlPath', where)),
    etcdEndpoint: raw.etcdEndpoint === undefined ? undefined : requiredString(raw, 'etcdEndpoint', where),
    baseDomain,
    region: raw.region === undefined ? 'us-east-1' : requiredString(raw, 'region', where),
    nbd: nbdConfig(raw.nbd, baseDir, where),
    volumeLeaseTtlMs: ttl,
    compute: computeConfig(raw.compute, where),
    logLevel: logLevelOf(raw.logLevel, where)
  }
}
