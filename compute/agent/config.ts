import { cpus, totalmem } from 'node:os'
import { isAbsolute, resolve } from 'node:path'
import { invalidConfig, isRecord, logLevelOf, onlyKeys, portOf, readConfigFile } from '../../lib/config-file.ts'

export interface AgentConfig {
  id: string
  host: string
  /** gRPC port; 0 binds an ephemeral one. */
  port: number
  metricsPort: number
  /** Holds one directory per instance (its record and logs); any length (QEMU's sockets live under /tmp, instance-store.ts). */
  dataDir: string
  /** What the scheduler may place here; defaults to the host's CPUs and RAM. */
  vcpus: number
  ramMiB: number
  qemuBinary: string
  /** Host address guests' port 22 is forwarded from. */
  forwardHost: string
  /** The console log kept per instance (the API returns at most this much). */
  consoleLogBytes: number
  /** Default time a guest gets to power off on StopInstance before QEMU quits. */
  stopTimeoutMs: number
  startTimeoutMs: number
  detachTimeoutMs: number
  /** How long an export the NBD server refuses (a lease still being given back) is retried. */
  diskRetryMs: number
  logLevel: string
}

const KEYS = new Set(['id', 'host', 'port', 'metricsPort', 'dataDir', 'vcpus', 'ramMiB', 'qemuBinary', 'forwardHost',
  'consoleLogBytes', 'stopTimeoutMs', 'startTimeoutMs', 'detachTimeoutMs', 'diskRetryMs', 'logLevel'])

export async function loadAgentConfig (path: string): Promise<AgentConfig> {
  const { raw, baseDir } = await readConfigFile(path)
  return parseAgentConfig(raw, baseDir, path)
}

export function parseAgentConfig (raw: unknown, baseDir = process.cwd(), where = 'config'): AgentConfig {
  if (!isRecord(raw)) throw invalidConfig(where, 'must be a JSON object')
  onlyKeys(raw, KEYS, where)
  const string = (key: string, fallback?: string): string => {
    const value = raw[key] ?? fallback
    if (typeof value !== 'string' || value === '') throw invalidConfig(where, `"${key}" must be a non-empty string`)
    return value
  }
  const positive = (key: string, fallback: number): number => {
    const value = raw[key] ?? fallback
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw invalidConfig(where, `"${key}" must be a positive integer`)
    return value
  }
  const dataDir = string('dataDir')
  const absolute = isAbsolute(dataDir) ? dataDir : resolve(baseDir, dataDir)
  // QEMU's option syntax would split a chardev path at a comma.
  if (absolute.includes(',')) throw invalidConfig(where, '"dataDir" must not contain a comma')
  const host = string('host', '127.0.0.1')
  return {
    id: string('id'),
    host,
    port: portOf(raw.port, '"port"', where),
    metricsPort: portOf(raw.metricsPort ?? 0, '"metricsPort"', where),
    dataDir: absolute,
    vcpus: positive('vcpus', cpus().length),
    ramMiB: positive('ramMiB', Math.floor(totalmem() / 1024 / 1024)),
    qemuBinary: string('qemuBinary', 'qemu-system-x86_64'),
    forwardHost: string('forwardHost', host),
    consoleLogBytes: positive('consoleLogBytes', 256 * 1024),
    stopTimeoutMs: positive('stopTimeoutMs', 60_000),
    startTimeoutMs: positive('startTimeoutMs', 30_000),
    detachTimeoutMs: positive('detachTimeoutMs', 30_000),
    diskRetryMs: positive('diskRetryMs', 5_000),
    logLevel: logLevelOf(raw.logLevel, where)
  }
}
