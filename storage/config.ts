import { isAbsolute, resolve } from 'node:path'
import { invalidConfig, isRecord, logLevelOf, onlyKeys, portOf, readConfigFile } from '../lib/config-file.ts'

export interface DeviceConfig {
  /** What ObjectRef.device names; unique within the node. */
  name: string
  /** Absolute directory holding the device's objects, index, tmp and quarantine. */
  path: string
}

export interface NodeConfig {
  id: string
  host: string
  /** gRPC port; 0 binds an ephemeral one. */
  port: number
  /** Prometheus /metrics port; 0 binds an ephemeral one. */
  metricsPort: number
  /** The chunk data channel's TCP port (ChunkStore.DataChannel tells clients); 0 binds an ephemeral one. */
  chunkDataPort: number
  devices: DeviceConfig[]
  ringPath?: string
  logLevel: string
  /** How long stop() lets in-flight calls finish before cutting them. */
  drainTimeoutMs: number
  /** Pause between replication passes (needs ringPath); 0 turns the replicator off. */
  replicationIntervalMs: number
  /** Bytes per second the replicator may push at most; 0 = no limit. */
  replicationMaxBytesPerSecond: number
  /** Object versions per second the replicator may push at most; 0 = no limit. */
  replicationMaxOpsPerSecond: number
  /** Tombstones older than this are removed and no longer replicated (Swift's reclaim_age); it must outlast any node's outage. */
  reclaimAgeMs: number
  /** Bytes per second the auditor reads and verifies; 0 turns it off. */
  auditBytesPerSecond: number
  /** Pause between the auditor's sweeps over every replica. */
  auditIntervalMs: number
}

const KEYS = new Set(['id', 'host', 'port', 'metricsPort', 'chunkDataPort', 'devices', 'ringPath', 'logLevel', 'drainTimeoutMs',
  'replicationIntervalMs', 'replicationMaxBytesPerSecond', 'replicationMaxOpsPerSecond', 'reclaimAgeMs',
  'auditBytesPerSecond', 'auditIntervalMs'])
const DEVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

const invalid = invalidConfig

/** Reads and validates a node config; relative paths resolve against the file's directory. */
export async function loadNodeConfig (path: string): Promise<NodeConfig> {
  const { raw, baseDir } = await readConfigFile(path)
  return parseNodeConfig(raw, baseDir, path)
}

export function parseNodeConfig (raw: unknown, baseDir = process.cwd(), where = 'config'): NodeConfig {
  if (!isRecord(raw)) throw invalid(where, 'must be a JSON object')
  onlyKeys(raw, KEYS, where)
  const id = raw.id
  if (typeof id !== 'string' || id === '') throw invalid(where, '"id" must be a non-empty string')
  const host = raw.host ?? '127.0.0.1'
  if (typeof host !== 'string' || host === '') throw invalid(where, '"host" must be a non-empty string')
  const port = portOf(raw.port, '"port"', where)
  const metricsPort = portOf(raw.metricsPort ?? 0, '"metricsPort"', where)
  const chunkDataPort = portOf(raw.chunkDataPort ?? 0, '"chunkDataPort"', where)
  const logLevel = logLevelOf(raw.logLevel, where)
  const drainTimeoutMs = wholeNumber(raw.drainTimeoutMs ?? 10_000, 'drainTimeoutMs', where)
  const replicationIntervalMs = wholeNumber(raw.replicationIntervalMs ?? 30_000, 'replicationIntervalMs', where)
  const replicationMaxBytesPerSecond = wholeNumber(raw.replicationMaxBytesPerSecond ?? 0, 'replicationMaxBytesPerSecond', where)
  const replicationMaxOpsPerSecond = wholeNumber(raw.replicationMaxOpsPerSecond ?? 0, 'replicationMaxOpsPerSecond', where)
  const reclaimAgeMs = wholeNumber(raw.reclaimAgeMs ?? WEEK_MS, 'reclaimAgeMs', where)
  const auditBytesPerSecond = wholeNumber(raw.auditBytesPerSecond ?? 10 * 1024 * 1024, 'auditBytesPerSecond', where)
  const auditIntervalMs = wholeNumber(raw.auditIntervalMs ?? 3600_000, 'auditIntervalMs', where)
  let ringPath: string | undefined
  if (raw.ringPath !== undefined) {
    if (typeof raw.ringPath !== 'string' || raw.ringPath === '') throw invalid(where, '"ringPath" must be a non-empty string')
    ringPath = resolve(baseDir, raw.ringPath)
  }
  return {
    id, host, port, metricsPort, chunkDataPort, devices: devicesOf(raw.devices, baseDir, where), ringPath, logLevel, drainTimeoutMs,
    replicationIntervalMs, replicationMaxBytesPerSecond, replicationMaxOpsPerSecond, reclaimAgeMs, auditBytesPerSecond, auditIntervalMs
  }
}

const WEEK_MS = 7 * 24 * 3600 * 1000

function wholeNumber (value: unknown, key: string, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw invalid(where, `"${key}" must be a non-negative integer`)
  return value
}

function devicesOf (raw: unknown, baseDir: string, where: string): DeviceConfig[] {
  if (!Array.isArray(raw) || raw.length === 0) throw invalid(where, '"devices" must be a non-empty array')
  const names = new Set<string>()
  const paths = new Set<string>()
  return raw.map((device: unknown, i) => {
    const at = `devices[${i}]`
    if (!isRecord(device)) throw invalid(where, `${at} must be an object`)
    for (const key of Object.keys(device)) {
      if (key !== 'name' && key !== 'path') throw invalid(where, `${at} has unknown key "${key}"`)
    }
    const { name, path } = device
    if (typeof name !== 'string' || !DEVICE_NAME.test(name)) {
      throw invalid(where, `${at}.name must match ${DEVICE_NAME.source}`)
    }
    if (names.has(name)) throw invalid(where, `device name "${name}" appears twice`)
    names.add(name)
    if (typeof path !== 'string' || path === '') throw invalid(where, `${at}.path must be a non-empty string`)
    const absolute = isAbsolute(path) ? path : resolve(baseDir, path)
    if (paths.has(absolute)) throw invalid(where, `device path "${absolute}" appears twice`)
    paths.add(absolute)
    return { name, path: absolute }
  })
}
