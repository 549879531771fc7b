import test from 'ava'
import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ObjectInfo } from '../../storage/index.ts'
import type { ObjectPath } from '../../storage/object-client/index.ts'
import { collect, sameBytes, TestCluster } from '../helpers/cluster.ts'

const PASS_MS = 300
const OBJECTS = 40

function pathOf (i: number): ObjectPath {
  return { account: 'AUTH_repl', container: 'c', object: `dir/object-${i}` }
}

/** Writes OBJECTS objects (and deletes every fifth) while the caller's node is down. */
async function writeWhileDown (cluster: TestCluster): Promise<Map<number, { info: ObjectInfo, body?: Buffer }>> {
  const out = new Map<number, { info: ObjectInfo, body?: Buffer }>()
  for (let i = 0; i < OBJECTS; i++) {
    const body = randomBytes(1024 + i * 97)
    out.set(i, { info: await cluster.client.put(pathOf(i), [body]), body })
  }
  for (let i = 0; i < OBJECTS; i += 5) out.set(i, { info: await cluster.client.delete(pathOf(i)) })
  return out
}

/** Every primary of every object holds its latest version, within `timeoutMs`; returns how long it took. */
async function converged (cluster: TestCluster, written: Map<number, { info: ObjectInfo }>, timeoutMs: number): Promise<number> {
  const started = Date.now()
  for (const [i, { info }] of written) await cluster.untilEveryReplicaHas(pathOf(i), info.timestamp, timeoutMs)
  return Date.now() - started
}

test('a node that missed puts and deletes while down gets them from its peers once back', async (t) => {
  const cluster = await TestCluster.start(t, { replicationIntervalMs: PASS_MS })
  await cluster.stopNode(0)
  const written = await writeWhileDown(cluster)
  await cluster.startNode(0)
  const ms = await converged(cluster, written, 30_000)
  t.log(`every replica matched ${ms} ms after the node came back`)
  const node = cluster.nodes[0]!
  for (const [i, { info, body }] of written) {
    const partition = cluster.ring.partition(pathOf(i).account, pathOf(i).container, pathOf(i).object)
    const held = await cluster.pool.client({ id: -1, host: '127.0.0.1', port: node.port, device: 'd1' }).get({ device: 'd1', partition, ...pathOf(i) })
    t.is(held.info.timestamp, info.timestamp)
    t.is(held.info.deleted, body === undefined, `object ${i}`)
    if (body !== undefined) sameBytes(t, await collect(held.body), body, `object ${i} on the returned node`)
    else held.cancel()
  }
})

test('a node whose data directory was wiped is rebuilt from its peers', async (t) => {
  const cluster = await TestCluster.start(t, { replicationIntervalMs: PASS_MS })
  const written = new Map<number, { info: ObjectInfo }>()
  for (let i = 0; i < OBJECTS; i++) written.set(i, { info: await cluster.client.put(pathOf(i), [randomBytes(2048)]) })
  await converged(cluster, written, 30_000)
  await cluster.stopNode(1)
  await rm(cluster.nodes[1]!.devicePath, { recursive: true, force: true })
  await mkdir(cluster.nodes[1]!.devicePath, { recursive: true })
  await cluster.startNode(1)
  const ms = await converged(cluster, written, 30_000)
  t.log(`the wiped node held every object again ${ms} ms after it restarted`)
  t.pass()
})

test('a handoff that took writes for a dead primary pushes them to it and then lets them go', async (t) => {
  const cluster = await TestCluster.start(t, { nodes: 4, replicationIntervalMs: PASS_MS })
  await cluster.stopNode(0)
  const written = await writeWhileDown(cluster)
  const dead = cluster.nodes[0]!.port
  const handedOff = [...written.keys()].filter((i) => {
    const p = pathOf(i)
    return cluster.ring.primaries(cluster.ring.partition(p.account, p.container, p.object)).some((d) => d.port === dead)
  })
  t.true(handedOff.length > 0, 'some objects have the stopped node as a primary')
  await cluster.startNode(0)
  await converged(cluster, written, 30_000)
  // The one device that is not a primary of a partition is where its handoff copy went.
  const deadline = Date.now() + 30_000
  for (const i of handedOff) {
    const p = pathOf(i)
    const partition = cluster.ring.partition(p.account, p.container, p.object)
    const primaries = new Set(cluster.ring.primaries(partition).map((d) => d.port))
    const handoff = cluster.nodes.find((n) => !primaries.has(n.port))!
    for (;;) {
      const info = await cluster.pool.client({ id: -1, host: '127.0.0.1', port: handoff.port, device: 'd1' }).head({ device: 'd1', partition, ...p })
      if (!info.exists) break
      if (Date.now() > deadline) t.fail(`object ${i} is still on its handoff`)
      await sleep(100)
    }
  }
  t.pass()
})

test('tombstones past the reclaim age are removed from every replica; live objects stay', async (t) => {
  const cluster = await TestCluster.start(t, { replicationIntervalMs: PASS_MS, reclaimAgeMs: 3_000 })
  const gone = pathOf(1)
  const kept = pathOf(2)
  await cluster.client.put(gone, [randomBytes(100)])
  await cluster.client.put(kept, [randomBytes(100)])
  const tombstone = await cluster.client.delete(gone)
  await cluster.untilEveryReplicaHas(gone, tombstone.timestamp)
  const partition = cluster.ring.partition(gone.account, gone.container, gone.object)
  const replicas = cluster.ring.primaries(partition)
  const deadline = Date.now() + 30_000
  for (const device of replicas) {
    for (;;) {
      const info = await cluster.pool.client(device).head({ device: device.device, partition, ...gone })
      if (!info.exists) break
      t.true(info.deleted)
      if (Date.now() > deadline) t.fail(`the tombstone on ${device.port} was never reclaimed`)
      await sleep(200)
    }
  }
  const live = await cluster.client.head(kept)
  t.true(live.exists && !live.deleted, 'a live object is never reclaimed')
})

test('the auditor finds flipped bytes in a replica and quarantines it, the replicator restores it, no read returns bad bytes', async (t) => {
  const cluster = await TestCluster.start(t, { replicationIntervalMs: PASS_MS, nodeConfig: { auditIntervalMs: 200, auditBytesPerSecond: 64 * 1024 * 1024 } })
  const path = pathOf(7)
  const body = randomBytes(256 * 1024)
  const info = await cluster.client.put(path, [body])
  await cluster.untilEveryReplicaHas(path, info.timestamp)
  const partition = cluster.ring.partition(path.account, path.container, path.object)
  const node = cluster.nodes[0]!
  const dir = join(node.devicePath, 'objects', String(partition))
  const file = join(dir, (await readdir(dir)).find((name) => name.endsWith('.data'))!)
  const handle = await open(file, 'r+')
  const { size } = await handle.stat()
  await handle.write(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, Math.floor(size / 2))
  await handle.close()

  // Nothing reads the object meanwhile: only the auditor can find the damage.
  const deadline = Date.now() + 30_000
  while ((await readdir(join(node.devicePath, 'quarantine'))).length === 0) {
    if (Date.now() > deadline) t.fail('the auditor never quarantined the damaged replica')
    await sleep(100)
  }
  const device = { id: -1, host: '127.0.0.1', port: node.port, device: 'd1' }
  for (;;) {
    // Through the object client a GET is always right; straight from the node it is right or absent, never wrong.
    sameBytes(t, await collect((await cluster.client.get(path)).body), body, 'a GET through the object client')
    const direct = await collect((await cluster.pool.client(device).get({ device: 'd1', partition, ...path })).body)
    if (direct.length > 0) {
      sameBytes(t, direct, body, 'the restored replica')
      break
    }
    if (Date.now() > deadline) t.fail('the replicators never restored the quarantined replica')
    await sleep(100)
  }
})
