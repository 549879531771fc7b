import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { RingBuilder } from '../ring/index.ts'
import { GrpcStorageNodeClient } from '../storage/index.ts'
import { TestCluster } from '../test/helpers/cluster.ts'
import { markdownTable } from './load.ts'

const KiB = 1024
const MiB = 1024 * KiB
const PASS_MS = 1_000
const WRITERS = 16
const TIMEOUT_MS = 600_000

interface RepairCase { label: string, count: number, size: number }
const CASES: RepairCase[] = [
  { label: '10,000 x 4 KiB', count: 10_000, size: 4 * KiB },
  { label: '100 x 8 MiB', count: 100, size: 8 * MiB }
]

/**
 * Replication's two costs. Repair: a node is down while N objects are
 * written, then comes back; how long until it holds all of them (its
 * peers' replicators push them; passes 1 s apart). Movement: adding a 9th
 * device to an 8-device ring (part power 10, 3 replicas, equal weights),
 * how many partition-replicas the builder moves against the least any
 * placement must move, the new device's fair share; bytes moved follow
 * partition-replicas, as every partition holds about as much.
 * `seconds` does not apply.
 */
export async function repairBench (): Promise<string> {
  const rows = [['node down while writing', 'objects', 'bytes', 'repair time (s)', 'MiB/s']]
  for (const c of CASES) rows.push(await repairCase(c))
  return [markdownTable(rows), '', movement()].join('\n')
}

async function repairCase ({ label, count, size }: RepairCase): Promise<string[]> {
  const cluster = await TestCluster.start(undefined, { partPower: 10, replicationIntervalMs: PASS_MS })
  try {
    await cluster.stopNode(0)
    progress(`${label}: writing with node1 down`)
    const body = randomBytes(size)
    let next = 0
    await Promise.all(Array.from({ length: WRITERS }, async () => {
      for (let i = next++; i < count; i = next++) await cluster.client.put({ account: 'AUTH_bench', container: 'c', object: `o${i}` }, [body])
    }))
    progress(`${label}: node1 back, waiting for it to hold every object`)
    const started = performance.now()
    await cluster.startNode(0)
    const client = new GrpcStorageNodeClient(`127.0.0.1:${cluster.nodes[0]!.port}`)
    try {
      for (;;) {
        const status = await client.status().catch(() => undefined)
        // Three nodes, three replicas: the node holds every object.
        if (status !== undefined && Number(status.devices[0]?.objects ?? 0) >= count) break
        if (performance.now() - started > TIMEOUT_MS) throw new Error(`${label}: not repaired in ${TIMEOUT_MS} ms`)
        await sleep(200)
      }
    } finally {
      client.close()
    }
    const seconds = (performance.now() - started) / 1000
    return [label, String(count), `${(count * size / MiB).toFixed(0)} MiB`, seconds.toFixed(1), (count * size / MiB / seconds).toFixed(1)]
  } finally {
    await cluster.destroy()
  }
}

function movement (): string {
  const builder = RingBuilder.create({ partPower: 10, replicas: 3, minPartHours: 0 })
  for (let i = 0; i < 8; i++) builder.addDevice({ region: 1, zone: i + 1, host: '10.0.0.' + String(i + 1), port: 6200, device: 'd1', weight: 100 })
  builder.rebalance()
  const before = builder.toRingData().assignment
  builder.addDevice({ region: 1, zone: 9, host: '10.0.0.9', port: 6200, device: 'd1', weight: 100 })
  builder.rebalance()
  const after = builder.toRingData().assignment
  let moved = 0
  for (let r = 0; r < after.length; r++) {
    for (let p = 0; p < after[r]!.length; p++) if (after[r]![p] !== before[r]![p]) moved++
  }
  const partitions = after[0]!.length
  const minimum = (partitions * 3) / 9
  return `adding 1 device to 8 (2^10 partitions x 3 replicas): ${moved} partition-replicas moved, ` +
    `minimum ${minimum.toFixed(0)} (the new device's share): ${(moved / minimum).toFixed(2)}x (target <= 1.1x)`
}

function progress (line: string): void {
  process.stderr.write(`repair bench: ${line}\n`)
}
