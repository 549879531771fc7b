import { resolve } from 'node:path'
import { invalidConfig, isRecord, logLevelOf, onlyKeys, portOf, readConfigFile } from '../lib/config-file.ts'

export interface GatewayFileConfig {
  id: string
  host: string
  /** HTTP APIs (S3); 0 binds an ephemeral port. */
  port: number
  metricsPort: number
  /** The object ring file, watched for new versions. */
  ringPath: string
  /** JSON file with the bootstrap S3 key pair: { accessKeyId, secretAccessKey, project }. */
  credentialsPath: string
  /** Enables virtual-host style S3 addressing (`bucket.<baseDomain>`). */
  baseDomain?: string
  region: string
  logLevel: string
}

const KEYS = new Set(['id', 'host', 'port', 'metricsPort', 'ringPath', 'credentialsPath', 'baseDomain', 'region', 'logLevel'])

function requiredString (raw: Record<string, unknown>, key: string, where: string): string {
  const value = raw[key]
  if (typeof value !== 'string' || value === '') throw invalidConfig(where, `"${key}" must be a non-empty string`)
  return value
}

export async function loadGatewayConfig (path: string): Promise<GatewayFileConfig> {
  const { raw, baseDir } = await readConfigFile(path)
  const where = path
  if (!isRecord(raw)) throw invalidConfig(where, 'must be a JSON object')
  onlyKeys(raw, KEYS, where)
  const baseDomain = raw.baseDomain === undefined ? undefined : requiredString(raw, 'baseDomain', where)
  return {
    id: requiredString(raw, 'id', where),
    host: raw.host === undefined ? '127.0.0.1' : requiredString(raw, 'host', where),
    port: portOf(raw.port, '"port"', where),
    metricsPort: portOf(raw.metricsPort ?? 0, '"metricsPort"', where),
    ringPath: resolve(baseDir, requiredString(raw, 'ringPath', where)),
    credentialsPath: resolve(baseDir, requiredString(raw, 'credentialsPath', where)),
    baseDomain,
    region: raw.region === undefined ? 'us-east-1' : requiredString(raw, 'region', where),
    logLevel: logLevelOf(raw.logLevel, where)
  }
}
