import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { silentLogger } from '../../lib/logger.ts'
import { Ring } from '../../ring/index.ts'
import { GrpcStorageNodeClient, HybridClock } from '../../storage/index.ts'
import { NodePool, ObjectClient } from '../../storage/object-client/index.ts'
import { bytesOf, collect, sameBytes } from '../helpers/cluster.ts'
import { killAndWait, spawnRingstack } from '../helpers/processes.ts'

const READY = /^ringstack ready http=(\S+) storage=(\S+) ring=(\S+) data=(\S+) nbd=(\S+) compute=(\S+)$/

test.serial('ringstack up: ready line, serves objects, stops cleanly on SIGINT, keeps data across restarts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-up-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  const up = async () => await spawnRingstack(['up', '--data', dir, '--http-port', '0', '--nbd-port', '0', '--storage-port-base', '0', '--compute-port', '0'], READY, 60_000)

  let cluster = await up()
  t.teardown(async () => { await killAndWait(cluster.child) })
  const [, , storage, ringPath, , , compute] = cluster.match
  t.is(storage!.split(',').length, 3, 'three storage nodes')
  t.regex(cluster.match[5]!, /^127\.0\.0\.1:\d+$/, 'an NBD target')
  t.regex(cluster.match[6]!, /^127\.0\.0\.1:\d+$/, 'a compute agent')
  t.is(ringPath, join(dir, 'ring', 'object.ring.gz'))
  t.truthy(JSON.parse(await readFile(join(dir, 'node1.json'), 'utf8')).devices, 'each node runs from its own config file')

  const ring = await Ring.load(ringPath!)
  const pool = new NodePool((address) => new GrpcStorageNodeClient(address))
  t.teardown(() => pool.close())
  const client = new ObjectClient({ placement: { current: () => ring }, pool, clock: new HybridClock(), logger: silentLogger() })
  const body = randomBytes(100_000)
  await client.put({ account: 'AUTH_a', container: 'c', object: 'kept' }, bytesOf(body))

  t.is(await killAndWait(cluster.child, 'SIGINT'), 0, 'Ctrl-C stops everything and exits 0')
  cluster = await up()
  t.is(cluster.match[2], storage, 'the same nodes come back on the same ports')
  t.is(cluster.match[6], compute, 'the compute agent comes back on its port')
  const read = await client.get({ account: 'AUTH_a', container: 'c', object: 'kept' })
  sameBytes(t, await collect(read.body), body, 'data kept across restarts')
  t.is(await killAndWait(cluster.child, 'SIGTERM'), 0)
})
