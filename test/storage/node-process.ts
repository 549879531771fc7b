import type { ExecutionContext } from 'ava'
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { GrpcStorageNodeClient, StorageError, type ObjectRef, type StorageErrorCode } from '../../storage/index.ts'

const BIN = fileURLToPath(new URL('../../bin/ringstack.js', import.meta.url))
const READY = /^storage node (\S+) listening on (\S+):(\d+)$/

/**
 * A storage node as a real child process (`ringstack storage --config`)
 * on an ephemeral loopback port, with its own temp data dir.
 */
export class NodeProcess {
  readonly dir: string
  readonly devicePath: string
  readonly configPath: string
  child: ChildProcess | undefined
  address = ''
  metricsPort = 0
  private log = ''
  private readonly clients: GrpcStorageNodeClient[] = []

  private constructor (dir: string) {
    this.dir = dir
    this.devicePath = join(dir, 'd1')
    this.configPath = join(dir, 'node.json')
  }

  /** Starts a node whose process and data dir go away with the test. */
  static async start (t: ExecutionContext, config: Record<string, unknown> = {}): Promise<NodeProcess> {
    const node = await NodeProcess.create(config)
    t.teardown(async () => await node.destroy())
    await node.launch()
    return node
  }

  /** For nodes shared by a file's tests: call destroy() in test.after.always. */
  static async create (config: Record<string, unknown> = {}): Promise<NodeProcess> {
    const node = new NodeProcess(await mkdtemp(join(tmpdir(), 'ringstack-storage-')))
    await mkdir(node.devicePath)
    await writeFile(node.configPath, JSON.stringify({
      id: 'node1', host: '127.0.0.1', port: 0, metricsPort: 0,
      devices: [{ name: 'd1', path: node.devicePath }], logLevel: 'info', ...config
    }))
    return node
  }

  /** Spawns the process and waits for its listening line. */
  async launch (timeoutMs = 30_000): Promise<void> {
    const child = spawn(process.execPath, [BIN, 'storage', '--config', this.configPath], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.child = child
    this.log = ''
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.log += line + '\n'
      const metrics = /"port":(\d+),"msg":"metrics listening"/.exec(line)
      if (metrics !== null) this.metricsPort = Number(metrics[1])
    })
    this.address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`storage node not ready in ${timeoutMs} ms:\n${this.log}`))
      }, timeoutMs)
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const match = READY.exec(line)
        if (match !== null) {
          clearTimeout(timer)
          resolve(`${match[2]}:${match[3]}`)
        }
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`storage node exited (${signal ?? code}) before ready:\n${this.log}`))
      })
    })
  }

  /** A client for the running process; closed on destroy(). */
  client (): GrpcStorageNodeClient {
    const client = new GrpcStorageNodeClient(this.address)
    this.clients.push(client)
    return client
  }

  /** The node's stderr (JSON log lines) since the last launch. */
  get stderr (): string {
    return this.log
  }

  /** Signals the process and resolves with its exit code (null when killed by the signal). */
  async kill (signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.kill(signal)
    return await exited
  }

  async destroy (): Promise<void> {
    for (const client of this.clients) client.close()
    await this.kill()
    await rm(this.dir, { recursive: true, force: true })
  }
}

export function ref (object: string, partition = 1): ObjectRef {
  return { device: 'd1', partition, account: 'acct', container: 'cont', object }
}

/** Deterministic pseudo-random bytes (xorshift), cheap enough for 64 MiB. */
export function pattern (size: number, seed = 1): Buffer {
  const buffer = Buffer.allocUnsafe(size)
  let x = seed | 1
  let i = 0
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    buffer.writeInt32LE(x | 0, i)
  }
  for (; i < size; i++) buffer[i] = i & 0xff
  return buffer
}

export function sha256 (data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

export async function collect (body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of body) parts.push(Buffer.from(part))
  return Buffer.concat(parts)
}

/** Asserts that `promise` rejects with a StorageError of `code`. */
export async function rejectsWith (t: ExecutionContext, promise: Promise<unknown>, code: StorageErrorCode,
  message?: RegExp): Promise<StorageError> {
  const error = await t.throwsAsync(promise, { instanceOf: StorageError })
  t.is(error?.code, code, error?.message)
  if (message !== undefined) t.regex(error?.message ?? '', message)
  return error as StorageError
}
