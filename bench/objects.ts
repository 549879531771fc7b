import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AllInOne } from '../cli/all-in-one.ts'
import { silentLogger } from '../lib/logger.ts'
import { Ring } from '../ring/index.ts'
import { GrpcStorageNodeClient, HybridClock } from '../storage/index.ts'
import { NodePool, ObjectClient } from '../storage/object-client/index.ts'
import { closedLoop, formatTable, type PhaseResult } from './load.ts'

export interface ObjectBenchOptions {
  seconds: number
}

/**
 * Object PUT/GET through the object client against a fresh all-in-one:
 * small objects (4 KiB, 16 in flight) for ops/s, large ones (8 MiB, 4 in
 * flight) for MiB/s. Data dirs live in a temp dir that is removed after.
 */
export async function objectsBench (options: ObjectBenchOptions): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-bench-'))
  const cluster = new AllInOne({ dataDir: dir, host: '127.0.0.1', httpPort: 0, storagePortBase: 0, partPower: 10 }, { logger: silentLogger() })
  const pool = new NodePool((address) => new GrpcStorageNodeClient(address))
  try {
    await cluster.start()
    const ring = await Ring.load(join(dir, 'ring', 'object.ring.gz'))
    const client = new ObjectClient({ placement: { current: () => ring }, pool, clock: new HybridClock(), logger: silentLogger() })
    const results: PhaseResult[] = []
    for (const [size, concurrency, label] of [[4096, 16, '4 KiB'], [8 * 1024 * 1024, 4, '8 MiB']] as const) {
      const body = randomBytes(size)
      const written: string[] = []
      results.push(await closedLoop(`PUT ${label} c${concurrency}`, concurrency, options.seconds, async (worker, seq) => {
        const name = `bench-${size}-${worker}-${seq}`
        await client.put({ account: 'AUTH_bench', container: 'bench', object: name }, [body], { size })
        written.push(name)
        return size
      }))
      results.push(await closedLoop(`GET ${label} c${concurrency}`, concurrency, options.seconds, async () => {
        const name = written[Math.floor(Math.random() * written.length)]!
        const read = await client.get({ account: 'AUTH_bench', container: 'bench', object: name })
        let n = 0
        for await (const chunk of read.body) n += chunk.length
        if (n !== size) throw new Error(`read ${n} of ${size} bytes`)
        return n
      }))
    }
    return formatTable(results)
  } finally {
    pool.close()
    await cluster.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
