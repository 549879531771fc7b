import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { connect } from 'node:net'
import { join } from 'node:path'
import type { TestFn } from 'ava'
import { socketRoot } from '../../compute/agent/instance-store.ts'
import { BIN, killAndWait, qemuPids, spawnRingstack, type Spawned } from './processes.ts'

const READY = /^ringstack ready http=(\S+) storage=(\S+) ring=(\S+) data=(\S+)/

export interface AllInOneOptions {
  /** Passed as `--base-domain`: virtual-host style S3 for `<bucket>.<baseDomain>`. */
  baseDomain?: string
  /** More `ringstack up` flags. */
  args?: string[]
}

/** A running `ringstack up` in a temp dir, with a known S3 key pair. */
export class RunningAllInOne {
  readonly accessKeyId = `RSTEST${randomBytes(6).toString('hex').toUpperCase()}`
  /** With characters that trip naive signers. */
  readonly secretAccessKey = `${randomBytes(15).toString('base64url')}/+=${randomBytes(6).toString('hex')}`
  readonly region = 'us-east-1'
  readonly adminPassword = randomBytes(12).toString('base64url')
  readonly baseDomain: string | undefined
  private spawned: Spawned | undefined
  private dataDir = ''

  private constructor (options: AllInOneOptions) {
    this.baseDomain = options.baseDomain
  }

  static async start (options: AllInOneOptions = {}): Promise<RunningAllInOne> {
    const cluster = new RunningAllInOne(options)
    cluster.dataDir = await mkdtemp(join(tmpdir(), 'ringstack-s3-'))
    const args = ['up', '--data', join(cluster.dataDir, 'data'), '--http-port', '0', '--nbd-port', '0', '--storage-port-base', '0', '--compute-port', '0']
    if (options.baseDomain !== undefined) args.push('--base-domain', options.baseDomain)
    args.push(...options.args ?? [])
    try {
      cluster.spawned = await spawnRingstack(args, READY, 60_000, {
        env: { RINGSTACK_S3_ACCESS_KEY: cluster.accessKeyId, RINGSTACK_S3_SECRET_KEY: cluster.secretAccessKey, RINGSTACK_ADMIN_PASSWORD: cluster.adminPassword }
      })
    } catch (err) {
      await rm(cluster.dataDir, { recursive: true, force: true })
      throw err
    }
    // A ready line without a gateway address means the gateway never came up.
    if (!/^http:\/\/[^/]+:\d+$/.test(cluster.endpoint)) {
      const log = cluster.spawned.stderr()
      await cluster.stop()
      throw new Error(`ringstack up is ready without an S3 endpoint (${cluster.endpoint}): ${log}`)
    }
    return cluster
  }

  /** `http://127.0.0.1:<port>`. */
  get endpoint (): string {
    return this.spawned!.match[1]!
  }

  get port (): number {
    return Number(new URL(this.endpoint).port)
  }

  /** `nbd://127.0.0.1:<port>/<export>`. */
  nbdUri (exportName: string): string {
    const nbd = / nbd=(\S+)/.exec(this.spawned!.match.input ?? '')?.[1]
    if (nbd === undefined) throw new Error('this all-in-one serves no NBD')
    return `nbd://${nbd}/${exportName}`
  }

  /** Runs `ringstack volume <args> --json` as the admin; resolves with the parsed output, rejects with stderr. */
  async volume<T = Record<string, unknown>> (...args: string[]): Promise<T> {
    return await this.cli<T>('volume', args)
  }

  /** Runs `ringstack image <args> --json` as the admin, likewise. */
  async image<T = Record<string, unknown>> (...args: string[]): Promise<T> {
    return await this.cli<T>('image', args)
  }

  /** Runs `ringstack server <args> --json` as the admin, likewise. */
  async server<T = Record<string, unknown>> (...args: string[]): Promise<T> {
    return await this.cli<T>('server', args)
  }

  /** Runs `ringstack hypervisor <args> --json` as the admin, likewise. */
  async hypervisor<T = Record<string, unknown>> (...args: string[]): Promise<T> {
    return await this.cli<T>('hypervisor', args)
  }

  /** Runs `ringstack flavor <args> --json` as the admin, likewise. */
  async flavor<T = Record<string, unknown>> (...args: string[]): Promise<T> {
    return await this.cli<T>('flavor', args)
  }

  private async cli<T> (command: string, args: string[]): Promise<T> {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [BIN, command, ...args, '--json', '--url', this.endpoint], {
        env: { ...process.env, RINGSTACK_PASSWORD: this.adminPassword, RINGSTACK_USER: 'admin', RINGSTACK_PROJECT: 'admin' },
        timeout: 300_000
      }, (err, stdout, stderr) => {
        if (err !== null) reject(Object.assign(new Error(`ringstack ${command} ${args.join(' ')}: ${stderr.trim() || err.message}`), { exitCode: err.code, stderr }))
        else resolve(stdout)
      })
    })
    return (out.trim() === '' ? {} : JSON.parse(out)) as T
  }

  /** The pid of storage node `node1`..`node3` (its supervisor restarts it when killed). */
  async storagePid (node: string): Promise<number> {
    return await this.rolePid(node)
  }

  /** The pid of a child role by its config file's name: `node1`, `gateway`, `compute1` (its supervisor restarts it when killed). */
  async rolePid (name: string): Promise<number> {
    const config = join(this.dataDir, 'data', `${name}.json`)
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
      if (cmdline.split('\0').includes(config)) return Number(entry)
    }
    throw new Error(`no process runs ${config}`)
  }

  /** Resolves once storage node `node1`..`node3` accepts connections again (after its supervisor restarted it). */
  async storageServing (node: string, timeoutMs = 30_000): Promise<void> {
    const { port } = JSON.parse(await readFile(join(this.dataDir, 'data', `${node}.json`), 'utf8')) as { port: number }
    for (const until = Date.now() + timeoutMs; ;) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) })
        socket.once('error', () => resolve(false))
      })
      if (open) return
      if (Date.now() > until) throw new Error(`${node} not serving on port ${port} after ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** A scratch directory that goes away with the cluster. */
  get dir (): string {
    return this.dataDir
  }

  get ringPath (): string {
    return this.spawned!.match[3]!
  }

  /** SIGTERM lets `ringstack up` stop its children; the data goes with it, and so do QEMUs the compute agent left running. */
  async stop (): Promise<void> {
    if (this.spawned !== undefined) await killAndWait(this.spawned.child, 'SIGTERM')
    this.spawned = undefined
    const computeDir = join(this.dataDir, 'data', 'compute')
    for (const pid of await qemuPids(computeDir)) process.kill(pid, 'SIGKILL')
    await rm(socketRoot(computeDir), { recursive: true, force: true })
    await rm(this.dataDir, { recursive: true, force: true })
  }
}

/**
 * One all-in-one for every test of a file: started before the first test,
 * stopped (and its temp dir removed) after the last. Tests share it and
 * keep apart by using their own bucket names. Hooks that use it must be
 * `test.serial.before` too: plain before hooks run concurrently.
 */
export function allInOneForFile (test: TestFn, options: AllInOneOptions = {}): () => RunningAllInOne {
  let cluster: RunningAllInOne | undefined
  test.serial.before(async () => {
    cluster = await RunningAllInOne.start(options)
  })
  test.after.always(async () => {
    await cluster?.stop()
  })
  return () => {
    if (cluster === undefined) throw new Error('the all-in-one did not start')
    return cluster
  }
}
