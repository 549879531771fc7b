import type { ExecutionContext } from 'ava'
import { createLogger, silentLogger } from '../../lib/logger.ts'
import { ChunkNodeClient, FrameCodec, ReplicatedChunkStore, chunkPartition, type ChunkRef, type ReplicatedChunkStoreOptions } from '../../storage/chunks/index.ts'
import type { PlacementDevice } from '../../storage/object-client/index.ts'
import { TestCluster } from '../helpers/cluster.ts'

export const KiB = 1024
export const MiB = 1024 * KiB

/** Real storage nodes, a ring over them and a ReplicatedChunkStore on it; gone with the test. */
export interface ChunkCluster {
  cluster: TestCluster
  store: ReplicatedChunkStore
  /** A client for one node (by index in cluster.nodes), bypassing replication. */
  node: (i: number) => ChunkNodeClient
  /** The chunk's replica devices, primaries first, with the index of the node serving each. */
  primaries: (chunk: ChunkRef) => Array<{ device: PlacementDevice, node: number }>
  partition: (chunk: ChunkRef) => number
}

export async function startChunkCluster (t: ExecutionContext, options: { nodes?: number, store?: ReplicatedChunkStoreOptions } = {}):
Promise<ChunkCluster> {
  const cluster = await TestCluster.start(t, { nodes: options.nodes ?? 3 })
  const logger = process.env.RINGSTACK_TEST_LOG === undefined ? silentLogger() : createLogger('test-chunks')
  const store = new ReplicatedChunkStore({ placement: { current: () => cluster.ring }, logger },
    { nodeTimeoutMs: 2_000, suppressMs: 1_000, ...options.store })
  const clients = new Map<number, ChunkNodeClient>()
  t.teardown(() => {
    store.close()
    for (const client of clients.values()) client.close()
  })
  const nodeOf = (device: PlacementDevice): number => cluster.nodes.findIndex((n) => n.port === device.port)
  return {
    cluster,
    store,
    node: (i) => {
      let client = clients.get(i)
      if (client === undefined) {
        client = new ChunkNodeClient(`127.0.0.1:${cluster.nodes[i]!.port}`, { codec: new FrameCodec(), timeoutMs: 5_000, slowTimeoutMs: 30_000 })
        clients.set(i, client)
      }
      return client
    },
    primaries: (chunk) => cluster.ring.primaries(chunkPartition(cluster.ring, chunk)).map((device) => ({ device, node: nodeOf(device) })),
    partition: (chunk) => chunkPartition(cluster.ring, chunk)
  }
}

/** Deterministic bytes for a test pattern. */
export function bytes (length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length)
  let x = (seed * 2654435761) | 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}
