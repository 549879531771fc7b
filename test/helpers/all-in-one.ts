import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestFn } from 'ava'
import { killAndWait, spawnRingstack, type Spawned } from './processes.ts'

const READY = /^ringstack ready http=(\S+) storage=(\S+) ring=(\S+) data=(\S+)/

export interface AllInOneOptions {
  /** Passed as `--base-domain`: virtual-host style S3 for `<bucket>.<baseDomain>`. */
  baseDomain?: string
}

/** A running `ringstack up` in a temp dir, with a known S3 key pair. */
export class RunningAllInOne {
  readonly accessKeyId = `RSTEST${randomBytes(6).toString('hex').toUpperCase()}`
  /** With characters that trip naive signers. */
  readonly secretAccessKey = `${randomBytes(15).toString('base64url')}/+=${randomBytes(6).toString('hex')}`
  readonly region = 'us-east-1'
  readonly baseDomain: string | undefined
  private spawned: Spawned | undefined
  private dataDir = ''

  private constructor (options: AllInOneOptions) {
    this.baseDomain = options.baseDomain
  }

  static async start (options: AllInOneOptions = {}): Promise<RunningAllInOne> {
    const cluster = new RunningAllInOne(options)
    cluster.dataDir = await mkdtemp(join(tmpdir(), 'ringstack-s3-'))
    const args = ['up', '--data', join(cluster.dataDir, 'data'), '--http-port', '0', '--storage-port-base', '0']
    if (options.baseDomain !== undefined) args.push('--base-domain', options.baseDomain)
    try {
      cluster.spawned = await spawnRingstack(args, READY, 60_000, {
        env: { RINGSTACK_S3_ACCESS_KEY: cluster.accessKeyId, RINGSTACK_S3_SECRET_KEY: cluster.secretAccessKey }
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

  /** A scratch directory that goes away with the cluster. */
  get dir (): string {
    return this.dataDir
  }

  get ringPath (): string {
    return this.spawned!.match[3]!
  }

  /** SIGTERM lets `ringstack up` stop its children; the data goes with it. */
  async stop (): Promise<void> {
    if (this.spawned !== undefined) await killAndWait(this.spawned.child, 'SIGTERM')
    this.spawned = undefined
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
