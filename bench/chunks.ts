import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AllInOne } from '../cli/all-in-one.ts'
import { silentLogger } from '../lib/logger.ts'
import { Ring } from '../ring/index.ts'
import { ReplicatedChunkStore, type ChunkVersion, type ChunkWrite } from '../storage/chunks/index.ts'
import { KeyedLock } from '../storage/keyed-lock.ts'
import { closedLoop, formatTable, type PhaseResult } from './load.ts'

export interface ChunkBenchOptions {
  seconds: number
}

const KiB = 1024
const MiB = 1024 * KiB
const CHUNK = 4 * MiB
/** Random I/O spreads over this much of a layer (256 chunks). */
const RANDOM_SPAN = 1024 * MiB
/** Each sequential worker streams through its own range of this size. */
const SEQUENTIAL_SPAN = 1024 * MiB

/**
 * A layer written the way a volume writes one: writes of one chunk one at a
 * time, each at the next version, following the last.
 */
class BenchLayer {
  readonly id = randomUUID()
  private readonly store: ReplicatedChunkStore
  private readonly versions = new Map<number, ChunkVersion>()
  private readonly locks = new KeyedLock()
  private seq = 0

  constructor (store: ReplicatedChunkStore) {
    this.store = store
  }

  async write (offset: number, data: Buffer): Promise<number> {
    const index = Math.floor(offset / CHUNK)
    await this.locks.run(String(index), async () => {
      const next = { epoch: 1, seq: ++this.seq }
      const write: ChunkWrite = { kind: 'data', offset: offset - index * CHUNK, data }
      await this.store.write({ chunk: { layer: this.id, index }, chunkSize: CHUNK, write, prev: this.versions.get(index) ?? null, next, fua: false })
      this.versions.set(index, next)
    })
    return data.length
  }

  async read (offset: number, length: number): Promise<number> {
    const index = Math.floor(offset / CHUNK)
    const version = this.versions.get(index)
    if (version === undefined) return 0
    const data = await this.store.read({ layer: this.id, index }, CHUNK, version, offset - index * CHUNK, length)
    return data.length
  }
}

/**
 * Chunk writes and reads through ReplicatedChunkStore against the three
 * storage nodes of a fresh all-in-one (3 replicas): 4 KiB random I/O at 16
 * in flight for ops/s, 1 MiB sequential streams (4 workers, each its own
 * range) for MiB/s, on 4 MiB chunks.
 */
export async function chunksBench (options: ChunkBenchOptions): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-bench-'))
  const cluster = new AllInOne({ dataDir: dir, host: '127.0.0.1', httpPort: 0, storagePortBase: 0, partPower: 10 }, { logger: silentLogger() })
  let store: ReplicatedChunkStore | undefined
  try {
    await cluster.start()
    const ring = await Ring.load(join(dir, 'ring', 'object.ring.gz'))
    store = new ReplicatedChunkStore({ placement: { current: () => ring }, logger: silentLogger() })
    const results: PhaseResult[] = []
    const random = new BenchLayer(store)
    const small = randomBytes(4 * KiB)
    const randomOffset = (): number => Math.floor(Math.random() * (RANDOM_SPAN / (4 * KiB))) * 4 * KiB
    results.push(await closedLoop('write 4 KiB random c16', 16, options.seconds, async () => await random.write(randomOffset(), small)))
    results.push(await closedLoop('read 4 KiB random c16', 16, options.seconds, async () => {
      // Only chunks the write phase reached have a version; others read as zeroes without a node.
      for (;;) {
        const n = await random.read(randomOffset(), 4 * KiB)
        if (n > 0) return n
      }
    }))
    const sequential = new BenchLayer(store)
    const large = randomBytes(MiB)
    const positions = [0, 0, 0, 0]
    const blocks = SEQUENTIAL_SPAN / MiB
    results.push(await closedLoop('write 1 MiB sequential c4', 4, options.seconds, async (worker) =>
      await sequential.write(worker * SEQUENTIAL_SPAN + (positions[worker]!++ % blocks) * MiB, large)))
    // Reads go over what each stream wrote.
    const written = positions.map((p) => Math.max(1, Math.min(p, blocks)))
    positions.fill(0)
    results.push(await closedLoop('read 1 MiB sequential c4', 4, options.seconds, async (worker) =>
      await sequential.read(worker * SEQUENTIAL_SPAN + (positions[worker]!++ % written[worker]!) * MiB, MiB)))
    return formatTable(results)
  } finally {
    store?.close()
    await cluster.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
