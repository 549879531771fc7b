import test from 'ava'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { statusCommand } from '../../cli/status.ts'
import { TestCluster } from '../helpers/cluster.ts'

async function status (cluster: TestCluster): Promise<{ code: number, rows: Array<Record<string, unknown>> }> {
  const out: string[] = []
  const code = await statusCommand(['--ring', join(cluster.dir, 'ring', 'object.ring.gz'), '--json'], { out: (line) => out.push(line), err: () => {} })
  return { code, rows: JSON.parse(out.join('\n')) as Array<Record<string, unknown>> }
}

test('ringstack status shows each node up with what it holds, and a dead node as down (exit 1)', async (t) => {
  const cluster = await TestCluster.start(t, { replicationIntervalMs: 200 })
  for (let i = 0; i < 12; i++) {
    const info = await cluster.client.put({ account: 'AUTH_s', container: 'c', object: `o${i}` }, [randomBytes(1000)])
    await cluster.untilEveryReplicaHas({ account: 'AUTH_s', container: 'c', object: `o${i}` }, info.timestamp)
  }
  const tombstone = await cluster.client.delete({ account: 'AUTH_s', container: 'c', object: 'o0' })
  await cluster.untilEveryReplicaHas({ account: 'AUTH_s', container: 'c', object: 'o0' }, tombstone.timestamp)
  const up = await status(cluster)
  t.is(up.code, 0)
  t.is(up.rows.length, 3)
  for (const row of up.rows) {
    t.is(row.state, 'up')
    // Three nodes, three replicas: every node holds every object.
    t.is(row.objects, 11)
    t.is(row.tombstones, 1)
    t.is(row.bytes, 11 * 1000)
    t.is(row.quarantined, 0)
    t.is(row.handoffs, 0)
  }
  await cluster.stopNode(2)
  const down = await status(cluster)
  t.is(down.code, 1)
  t.deepEqual(down.rows.map((row) => row.state).sort(), ['down', 'up', 'up'])
})
