import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import { createLogger, silentLogger } from '../../lib/logger.ts'
import { buildRing, readBuilderFile, Ring, RingBuilder, ringPaths, writeBuilderFile, writeRingFile } from '../../ring/index.ts'
import { GrpcStorageNodeClient, HybridClock, StorageError } from '../../storage/index.ts'
import { NodePool, ObjectClient, type ObjectClientOptions, type ObjectPath } from '../../storage/object-client/index.ts'
import { killAndWait, spawnRingstack, type Spawned } from './processes.ts'

const READY = /^storage node \S+ listening on \S+:(\d+)$/

export interface TestNode {
  id: string
  port: number
  configPath: string
  devicePath: string
  process?: Spawned
}

/**
 * Real storage-node processes on loopback, a ring over them, and an object
 * client wired the way the gateway wires it. Torn down with the test.
 */
export class TestCluster {
  readonly dir: string
  /** The ring in force; addNode() swaps in the rebalanced one. */
  ring: Ring
  readonly nodes: TestNode[]
  readonly pool: NodePool
  readonly client: ObjectClient

  private readonly clock = new HybridClock()
  /** What every node's config holds besides its identity and device. */
  private nodeConfig: Record<string, unknown> = {}

  private constructor (dir: string, ring: Ring, nodes: TestNode[], options: ObjectClientOptions) {
    this.dir = dir
    this.ring = ring
    this.nodes = nodes
    this.pool = new NodePool((address) => new GrpcStorageNodeClient(address), { suppressMs: 1_000 })
    this.client = this.clientWith(options)
  }

  /** Another object client on the same nodes, e.g. with other quorums. */
  clientWith (options: ObjectClientOptions): ObjectClient {
    return new ObjectClient({
      placement: { current: () => this.ring },
      pool: this.pool,
      clock: this.clock,
      // RINGSTACK_TEST_LOG=1 shows what the client saw (replicas dropped, reads resumed).
      logger: process.env.RINGSTACK_TEST_LOG === undefined ? silentLogger() : createLogger('test-client')
    }, { replicas: this.ring.replicas, ...options })
  }

  /**
   * Waits until every primary of the object holds the version `timestamp`:
   * a put is acked at W, the last replica may still be committing.
   */
  async untilEveryReplicaHas (path: ObjectPath, timestamp: bigint, timeoutMs = 30_000): Promise<void> {
    const partition = this.ring.partition(path.account, path.container, path.object)
    const until = Date.now() + timeoutMs
    for (const device of this.ring.primaries(partition)) {
      for (;;) {
        // A node that just came back may be unreachable to this client for a moment (reconnect backoff).
        const info = await this.pool.client(device).head({ device: device.device, partition, ...path })
          .catch((err: unknown) => { if (err instanceof StorageError && err.code === 'Unavailable') return undefined; throw err })
        if (info !== undefined && info.timestamp >= timestamp) break
        if (Date.now() > until) throw new Error(`replica on ${device.host}:${device.port} never got version ${timestamp}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }

  /** With `t`, the cluster goes away with that test; without, call destroy(). */
  /** `replicationIntervalMs` turns the nodes' replicators on (they find the ring once it is built). */
  static async start (t: ExecutionContext | undefined, options: {
    nodes?: number, partPower?: number, client?: ObjectClientOptions, replicationIntervalMs?: number, reclaimAgeMs?: number,
    /** Extra keys of every node's config (e.g. the auditor's pace). */
    nodeConfig?: Record<string, unknown>
  } = {}):
  Promise<TestCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'ringstack-test-'))
    const count = options.nodes ?? 3
    const nodes: TestNode[] = []
    const replication = options.replicationIntervalMs === undefined
      ? {}
      : { ringPath: join(dir, 'ring', 'object.ring.gz'), replicationIntervalMs: options.replicationIntervalMs, reclaimAgeMs: options.reclaimAgeMs }
    const writeConfig = async (node: TestNode): Promise<void> => {
      await writeFile(node.configPath, JSON.stringify({
        id: node.id, host: '127.0.0.1', port: node.port, metricsPort: 0,
        devices: [{ name: 'd1', path: node.devicePath }], logLevel: 'warn', ...replication, ...options.nodeConfig
      }))
    }
    // Nodes bind ephemeral ports themselves (no pick-then-bind race with
    // other tests); the ring and later restarts use the ports they got.
    const started: Spawned[] = []
    try {
      for (let i = 0; i < count; i++) {
        const id = `node${i + 1}`
        const node = { id, port: 0, configPath: join(dir, `${id}.json`), devicePath: join(dir, id, 'd1') }
        await mkdir(node.devicePath, { recursive: true })
        await writeConfig(node)
        nodes.push(node)
      }
      started.push(...await Promise.all(nodes.map(async (node) =>
        await spawnRingstack(['storage', '--config', node.configPath], READY))))
    } catch (err) {
      await Promise.all(started.map(async (p) => await killAndWait(p.child)))
      await rm(dir, { recursive: true, force: true })
      throw err
    }
    for (const [i, node] of nodes.entries()) {
      node.port = Number(started[i]!.match[1])
      node.process = started[i]
      await writeConfig(node)
    }
    const ring = await buildRing({
      ringDir: join(dir, 'ring'),
      partPower: options.partPower ?? 8,
      // A test cluster may rebalance right away (addNode).
      minPartHours: 0,
      replicas: Math.min(3, count),
      devices: nodes.map((n, i) => ({ region: 1, zone: i + 1, host: '127.0.0.1', port: n.port, device: 'd1', weight: 100 }))
    })
    const cluster = new TestCluster(dir, ring, nodes, options.client ?? {})
    cluster.nodeConfig = { logLevel: 'warn', ...replication, ...options.nodeConfig }
    t?.teardown(async () => await cluster.destroy())
    return cluster
  }

  /**
   * Starts one more node and adds its device to the ring (zone of its
   * own, the same weight), rebalances and writes the ring file the nodes
   * watch; this cluster's clients use the new ring at once.
   */
  async addNode (): Promise<TestNode> {
    const id = `node${this.nodes.length + 1}`
    const node: TestNode = { id, port: 0, configPath: join(this.dir, `${id}.json`), devicePath: join(this.dir, id, 'd1') }
    await mkdir(node.devicePath, { recursive: true })
    const write = async (): Promise<void> => {
      await writeFile(node.configPath, JSON.stringify({
        id, host: '127.0.0.1', port: node.port, metricsPort: 0, devices: [{ name: 'd1', path: node.devicePath }], ...this.nodeConfig
      }))
    }
    await write()
    node.process = await spawnRingstack(['storage', '--config', node.configPath], READY)
    node.port = Number(node.process.match[1])
    await write()
    this.nodes.push(node)
    const paths = ringPaths(join(this.dir, 'ring'))
    const builder = RingBuilder.fromState(await readBuilderFile(paths.builder))
    builder.addDevice({ region: 1, zone: this.nodes.length, host: '127.0.0.1', port: node.port, device: 'd1', weight: 100 })
    builder.rebalance()
    await writeBuilderFile(paths.builder, builder.toState())
    await writeRingFile(paths.ring, builder.toRingData())
    this.ring = await Ring.load(paths.ring)
    return node
  }

  async startNode (index: number): Promise<void> {
    const node = this.nodes[index]!
    node.process = await spawnRingstack(['storage', '--config', node.configPath], READY)
  }

  /** kill -9 by default: no drain, no cleanup, as a crash would. */
  async stopNode (index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const node = this.nodes[index]!
    const code = node.process === undefined ? null : await killAndWait(node.process.child, signal)
    node.process = undefined
    return code
  }

  async destroy (): Promise<void> {
    this.pool.close()
    await Promise.all(this.nodes.map(async (_, i) => await this.stopNode(i)))
    await rm(this.dir, { recursive: true, force: true })
  }
}

export async function * bytesOf (buf: Uint8Array, pieceSize = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += pieceSize) yield buf.subarray(i, i + pieceSize)
}

export async function collect (body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of body) parts.push(Buffer.from(part))
  return Buffer.concat(parts)
}

/**
 * Byte equality with a short failure message. ava's deepEqual diffs
 * buffers byte by byte, which takes seconds on a few MiB.
 */
export function sameBytes (t: ExecutionContext, actual: Uint8Array, expected: Uint8Array, message?: string): void {
  const same = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength)
    .equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))
  t.true(same, `${message ?? 'bytes differ'}: got ${actual.byteLength} bytes, expected ${expected.byteLength}`)
}
