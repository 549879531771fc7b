import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { ExecutionContext } from 'ava'
import { pino } from 'pino'
import { NbdServer, type NbdServerOptions } from '../../gateway/nbd/index.ts'
import { createRegistry, type Registry } from '../../lib/metrics.ts'
import { MemoryExports, type MemoryExportSpec } from './memory-exports.ts'

export const MiB = 1024 * 1024

export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

/** An NbdServer on 127.0.0.1 with an ephemeral port over memory exports, its log lines, and a temp dir; gone at test end. */
export interface Harness {
  server: NbdServer
  exports: MemoryExports
  metrics: Registry
  logs: LogLine[]
  dir: string
  /** `nbd://127.0.0.1:PORT/name`. */
  uri: (name: string) => string
}

/** `options` may be computed from the temp dir (e.g. to write a key file there first). */
export async function startNbd (t: ExecutionContext, specs: MemoryExportSpec[],
  options: Partial<NbdServerOptions> | ((dir: string) => Promise<Partial<NbdServerOptions>>) = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-nbd-'))
  const logs: LogLine[] = []
  const sink = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as LogLine)
      done()
    }
  })
  const exports = new MemoryExports(specs)
  const metrics = createRegistry()
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const resolved = typeof options === 'function' ? await options(dir) : options
  const server = new NbdServer({ host: '127.0.0.1', port: 0, drainTimeoutMs: 5000, ...resolved }, { exports, logger: pino({ level: 'info' }, sink), metrics })
  // Teardowns run last-registered first: the server stops before its dir goes.
  t.teardown(async () => { await server.stop() })
  await server.start()
  return { server, exports, metrics, logs, dir, uri: (name) => `nbd://127.0.0.1:${server.port}/${name}` }
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs a client tool; a non-zero exit is a result, not an exception. */
export async function run (command: string, args: string[], options: { timeoutMs?: number, env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return await new Promise((resolve, reject) => {
    execFile(command, args, { timeout: options.timeoutMs ?? 30_000, env: options.env ?? process.env, maxBuffer: 64 * MiB }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') {
        reject(new Error(`${command} ${args.join(' ')}: ${err.message}\n${stderr}`))
        return
      }
      resolve({ code: err === null ? 0 : err.code as number, stdout, stderr })
    })
  })
}

/** Like run, but a non-zero exit throws with the tool's stderr. */
export async function runOk (command: string, args: string[], options: { timeoutMs?: number, env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const result = await run(command, args, options)
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}: ${result.stderr}`)
  return result.stdout
}

/**
 * Runs a Python script in nbdsh (python3-libnbd) with a fresh handle `h`
 * and the variable `uri`; the script prints one JSON line, returned parsed.
 * Debian's python3 first on PATH: a pyenv python3 lacks the nbd module.
 */
export async function nbdsh<T> (uri: string, script: string, timeoutMs = 30_000): Promise<T> {
  const code = `import json, nbd\nuri = ${JSON.stringify(uri)}\n${script}`
  const stdout = await runOk('nbdsh', ['-c', code], { timeoutMs, env: { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}` } })
  const last = stdout.trim().split('\n').pop() ?? ''
  return JSON.parse(last) as T
}

/** The value of a metric (summed over the label values given) from the registry. */
export async function metricValue (registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  if (metric === undefined) return 0
  return metric.values
    .filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))
    .reduce((sum, v) => sum + v.value, 0)
}
